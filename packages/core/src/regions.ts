/** AWS region names and partitions: the one place that knows what a region name looks like. */

/** A region name such as `eu-west-1`, `us-gov-west-1` or `cn-north-1`. */
export const REGION_NAME_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** What a region name must look like, for error messages. */
export const REGION_NAME_HINT = "a region name such as eu-west-1";

export function isRegionName(value: string): boolean {
  return REGION_NAME_PATTERN.test(value);
}

/** The AWS partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`). */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}
