/** Lambda's on-failure destination record around an event (asynchronous invocation), as AWS documents it. */
export function invocationRecord(payload: unknown) {
  return {
    version: "1.0",
    timestamp: "2026-11-20T09:12:40.224Z",
    requestContext: {
      requestId: "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
      functionArn: "arn:aws:lambda:eu-west-1:123456789012:function:flowlog-guard-Remediate:$LATEST",
      condition: "RetriesExhausted",
      approximateInvokeCount: 3,
    },
    requestPayload: payload,
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    responsePayload: { errorType: "RemediationError", errorMessage: "1 VPC(s) could not be fixed" },
  };
}
