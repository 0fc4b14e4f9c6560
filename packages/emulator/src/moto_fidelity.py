"""Small fidelity fixes to moto 5.2.1, applied before the server starts, where moto departs from
the documented AWS API in ways flowlog-guard depends on. Each fix says what AWS does.

1. CreateFlowLogs to S3 takes `arn:aws:s3:::bucket/prefix` (AWS: "a bucket ARN with an optional
   subfolder"); moto looks the whole `bucket/prefix` up as a bucket name and refuses it.
2. CreateFlowLogs `DestinationOptions` (FileFormat, HiveCompatiblePartitions, PerHourPartition) are
   returned by DescribeFlowLogs in AWS; moto drops them.
3. An inline policy of a role made by CloudFormation (`AWS::IAM::Role` `Policies`) is returned by
   GetRolePolicy as a JSON document in AWS; moto stores the template's object and returns its
   Python repr.
4. CloudWatch Logs AssociateKmsKey and DisassociateKmsKey (by `logGroupName`) set and clear the
   group's `kmsKeyId` that DescribeLogGroups returns; moto does not implement them.
5. EventBridge matches a field of the objects inside an event's array as if the array were not there
   (Event Ruler, the library that powers EventBridge, "JSON Array Matching": "the array structure is
   'crushed out' of the rule pattern, and any contained objects are treated as if they are the value
   of the parent field"; AWS's Security Hub guide filters `detail.findings`, an array of objects, so).
   moto's matcher stops at arrays, so `{"items": {"resourceId": [...]}}` never matched CloudTrail's
   `"items": [{"resourceId": ...}]`. Values of such arrays are gathered into a list per path.
"""
import json

from moto.iam.models import Role
from moto.ec2.exceptions import FlowLogAlreadyExists
from moto.events.models import EventPattern
from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.responses.flow_logs import FlowLogs as FlowLogsResponse
from moto.logs.exceptions import ResourceNotFoundException
from moto.logs.responses import LogsResponse

_create_flow_logs = FlowLogsBackend.create_flow_logs
_create_flow_logs_response = FlowLogsResponse.create_flow_logs


def _split_s3(destination):
    tail = destination.split(":::", 1)[-1]
    bucket, _, prefix = tail.partition("/")
    return destination[: len(destination) - len(tail)] + bucket, prefix


def create_flow_logs(self, resource_type, resource_ids, traffic_type, deliver_logs_permission_arn,
                     log_destination_type, log_destination, log_group_name, log_format,
                     max_aggregation_interval):
    if log_destination_type != "s3" or not log_destination:
        return _create_flow_logs(self, resource_type, resource_ids, traffic_type,
                                 deliver_logs_permission_arn, log_destination_type, log_destination,
                                 log_group_name, log_format, max_aggregation_interval)
    bucket_arn, prefix = _split_s3(log_destination)
    if prefix:
        existing = {(fl.resource_id, (fl.log_destination or "").rstrip("/")) for fl in self.describe_flow_logs()}
        if any((resource_id, log_destination.rstrip("/")) in existing for resource_id in resource_ids):
            raise FlowLogAlreadyExists()
    flow_logs, errors = _create_flow_logs(self, resource_type, resource_ids, traffic_type,
                                          deliver_logs_permission_arn, log_destination_type, bucket_arn,
                                          log_group_name, log_format, max_aggregation_interval)
    for flow_log in flow_logs:
        flow_log.log_destination = log_destination
    return flow_logs, errors


def create_flow_logs_response(self):
    result = _create_flow_logs_response(self)
    options = self._get_param("DestinationOptions") or {}
    if options:
        to_bool = lambda value: str(value).lower() == "true"
        recorded = {
            "FileFormat": options.get("FileFormat", "plain-text"),
            "HiveCompatiblePartitions": to_bool(options.get("HiveCompatiblePartitions", False)),
            "PerHourPartition": to_bool(options.get("PerHourPartition", False)),
        }
        ids = set(result.result.get("FlowLogIds", []))
        for flow_log in self.ec2_backend.describe_flow_logs():
            if flow_log.id in ids:
                flow_log.destination_options = recorded
    return result


_put_role_policy = Role.put_policy


def put_role_policy(self, policy_name, policy_json):
    if not isinstance(policy_json, str):
        policy_json = json.dumps(policy_json)
    return _put_role_policy(self, policy_name, policy_json)


FlowLogsBackend.create_flow_logs = create_flow_logs
FlowLogsResponse.create_flow_logs = create_flow_logs_response
Role.put_policy = put_role_policy


def _log_group(response):
    group = response.logs_backend.groups.get(response._get_param("logGroupName"))
    if group is None:
        raise ResourceNotFoundException()
    return group


def associate_kms_key(self):
    _log_group(self).kms_key_id = self._get_param("kmsKeyId")
    return ""


def disassociate_kms_key(self):
    _log_group(self).kms_key_id = None
    return ""


LogsResponse.associate_kms_key = associate_kms_key
LogsResponse.disassociate_kms_key = disassociate_kms_key


def _gather(result, key, value):
    """Adds `value` under `key`: a second value (another element of a crushed array) makes a list."""
    if key not in result:
        result[key] = value
        return
    present = result[key] if isinstance(result[key], list) else [result[key]]
    result[key] = present + (value if isinstance(value, list) else [value])


def _flatten_dict(node, prefix="", result=None):
    if result is None:
        result = {}
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and value:
                _flatten_dict(value, path, result)
            elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
                for item in value:
                    _crush(item, path, result)
            else:
                _gather(result, path, value)
    return result


def _crush(item, path, result):
    if isinstance(item, dict):
        _flatten_dict(item, path, result)
    elif isinstance(item, list):
        for inner in item:
            _crush(inner, path, result)
    else:
        _gather(result, path, item)


EventPattern._flatten_dict = staticmethod(_flatten_dict)
