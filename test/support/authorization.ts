import { DELIVERY_ROLE_PATH } from "@flowlog-guard/core";
import type { RecordedCall } from "./call-recorder.ts";
import type { AuthorizationRequest } from "./iam-evaluator.ts";

type Tag = { Key?: string; Value?: string; key?: string; value?: string };

/** `aws:TagKeys` and `aws:RequestTag/<key>` for the tags a call sets. */
function tagContext(tags: Tag[] | Record<string, string> | undefined): Record<string, string | string[]> {
  const entries = Array.isArray(tags)
    ? tags.map((tag) => [tag.Key ?? tag.key ?? "", tag.Value ?? tag.value ?? ""] as const)
    : Object.entries(tags ?? {});
  if (entries.length === 0) return {};
  return {
    "aws:TagKeys": entries.map(([key]) => key),
    ...Object.fromEntries(entries.map(([key, value]) => [`aws:RequestTag/${key}`, value])),
  };
}

const EC2_RESOURCE_PREFIX: Record<string, string> = {
  VPC: "vpc",
  Subnet: "subnet",
  NetworkInterface: "network-interface",
  TransitGateway: "transit-gateway",
  TransitGatewayAttachment: "transit-gateway-attachment",
};

function createFlowLogs(call: RecordedCall, arn: (rest: string) => string): AuthorizationRequest[] {
  const input = call.input as {
    ResourceIds?: string[];
    ResourceType?: string;
    DeliverLogsPermissionArn?: string;
    LogDestinationType?: string;
    TagSpecifications?: { Tags?: Tag[] }[];
  };
  const tags = tagContext(input.TagSpecifications?.flatMap((spec) => spec.Tags ?? []));
  const flowLog = arn("vpc-flow-log/*");
  const region = { "ec2:Region": call.region };
  return [
    ...(input.ResourceIds ?? []).map((id) => ({
      action: "ec2:CreateFlowLogs",
      resource: arn(`${EC2_RESOURCE_PREFIX[input.ResourceType ?? "VPC"]}/${id}`),
      context: region,
    })),
    { action: "ec2:CreateFlowLogs", resource: flowLog, context: { ...region, ...tags } },
    ...(Object.keys(tags).length > 0
      ? [
          {
            action: "ec2:CreateTags",
            resource: flowLog,
            context: { ...tags, "ec2:CreateAction": "CreateFlowLogs" },
          },
        ]
      : []),
    ...(input.DeliverLogsPermissionArn
      ? [
          {
            action: "iam:PassRole",
            resource: input.DeliverLogsPermissionArn,
            context: { "iam:PassedToService": "vpc-flow-logs.amazonaws.com" },
          },
        ]
      : []),
    // Delivery to S3: AWS asks the caller for both (flow-logs-s3-create-flow-log.html), on "*".
    ...(input.LogDestinationType === "s3"
      ? ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"].map((action) => ({ action, resource: "*" }))
      : []),
  ];
}

/**
 * The IAM authorisation requests AWS evaluates for one API call: the action, each resource ARN the
 * Service Authorization Reference names for it (built from the call's real input), and the condition
 * context the call carries (tags set, create action, passed-to service). A call AWS authorises
 * implicitly as part of another (tags at creation, PassRole) yields its extra requests here too.
 */
export function authorizationRequestsOf(
  call: RecordedCall,
  accountId: string,
  partition = "aws",
): AuthorizationRequest[] {
  const { service, operation, region, input } = call;
  const action = `${service}:${operation}`;
  switch (service) {
    case "sts":
      return []; // GetCallerIdentity needs no permission.
    case "ec2":
      if (operation === "CreateFlowLogs")
        return createFlowLogs(call, (rest) => `arn:${partition}:ec2:${region}:${accountId}:${rest}`);
      return [{ action, resource: "*", context: { "ec2:Region": region } }];
    case "logs": {
      if (operation === "DescribeLogGroups") return [{ action, resource: "*" }];
      // Tag calls name the group by ARN (resourceArn), the others by name.
      const arnGiven = input.resourceArn as string | undefined;
      const group =
        arnGiven ?? `arn:${partition}:logs:${region}:${accountId}:log-group:${input.logGroupName as string}`;
      const tags = tagContext(input.tags as Record<string, string> | undefined);
      const tagging =
        Object.keys(tags).length > 0 ? [{ action: "logs:TagResource", resource: group, context: tags }] : [];
      return [{ action, resource: group, context: operation === "CreateLogGroup" ? tags : {} }, ...tagging];
    }
    case "iam": {
      if (operation === "SimulatePrincipalPolicy")
        // moto names its default IAM user arn:aws:sts::ACCOUNT:user/moto; AWS names users in iam.
        return [
          {
            action,
            resource: (input.PolicySourceArn as string).replace(/:sts::(\d{12}):user\//, ":iam::$1:user/"),
          },
        ];
      const path = (input.Path as string | undefined) ?? DELIVERY_ROLE_PATH;
      const role = `arn:${partition}:iam::${accountId}:role${path}${input.RoleName as string}`;
      const tags = tagContext(input.Tags as Tag[] | undefined);
      const tagging =
        operation === "CreateRole" && Object.keys(tags).length > 0
          ? [{ action: "iam:TagRole", resource: role, context: tags }]
          : [];
      // CreateRole and PutRolePermissionsBoundary carry the boundary they set as iam:PermissionsBoundary.
      const boundary = input.PermissionsBoundary as string | undefined;
      const context = boundary ? { ...tags, "iam:PermissionsBoundary": boundary } : tags;
      return [{ action, resource: role, context }, ...tagging];
    }
    case "securityhub": {
      if (operation === "GetFindings")
        return [{ action, resource: `arn:${partition}:securityhub:${region}:${accountId}:hub/default` }];
      const findings = (input.Findings ?? []) as { ProductArn?: string }[];
      return [...new Set(findings.map((finding) => finding.ProductArn ?? ""))].map((resource) => ({
        action,
        resource,
      }));
    }
    case "cloudwatch":
      return [{ action, resource: "*" }]; // GetMetricData: metrics have no ARN.
    case "s3": {
      if (operation === "ListBuckets") return [{ action: "s3:ListAllMyBuckets", resource: "*" }];
      // Operations whose IAM action has another name (Service Authorization Reference).
      const named: Record<string, string> = {
        ListObjectsV2: "s3:ListBucket",
        HeadBucket: "s3:ListBucket",
        GetBucketEncryption: "s3:GetEncryptionConfiguration",
      };
      return [
        { action: named[operation] ?? action, resource: `arn:${partition}:s3:::${input.Bucket as string}` },
      ];
    }
    case "cloudtrail": {
      if (operation === "DescribeTrails") return [{ action, resource: "*" }];
      const trail = (input.Name ?? input.TrailName) as string;
      const arn = trail.startsWith("arn:")
        ? trail
        : `arn:${partition}:cloudtrail:${region}:${accountId}:trail/${trail}`;
      return [{ action, resource: arn }];
    }
    case "kms":
      return [{ action, resource: input.KeyId as string }];
    case "sqs": {
      const [account, name] = new URL(input.QueueUrl as string).pathname.split("/").slice(1);
      return [{ action, resource: `arn:${partition}:sqs:${region}:${account}:${name}` }];
    }
    case "organizations":
      return [{ action, resource: "*" }];
    case "events": {
      const busArn = (bus: string) =>
        bus.startsWith("arn:") ? bus : `arn:${partition}:events:${region}:${accountId}:event-bus/${bus}`;
      if (operation === "DescribeEventBus")
        return [{ action, resource: busArn((input.Name as string | undefined) ?? "default"), context: {} }];
      const entries = (input.Entries ?? []) as {
        EventBusName?: string;
        Source?: string;
        DetailType?: string;
      }[];
      return entries.map((entry) => {
        const bus = entry.EventBusName ?? "default";
        return {
          action,
          resource: busArn(bus),
          context: { "events:source": entry.Source ?? "", "events:detail-type": entry.DetailType ?? "" },
        };
      });
    }
  }
}
