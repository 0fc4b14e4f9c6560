/** Product name and version, used in the SDK user agent, change records and `--version`. */
export const PRODUCT_NAME = "flowlog-guard";
export const PRODUCT_VERSION = "0.1.0";
