#!/usr/bin/env python3
"""Deploys a cloudport CloudFormation template and its function.zip to a moto server.

The deploy tests run it against the moto server that scripts/emulators.sh starts:

    python3 scripts/deploy_moto.py --endpoint http://127.0.0.1:5000 \
        --template out/template.json --zip out/function.zip --stack orders [--param K=V ...]

It creates a code bucket, uploads the zip, creates the stack with the CodeBucket and CodeKey
parameters (and CAPABILITY_IAM, CAPABILITY_NAMED_IAM), waits for a terminal status, and prints one
JSON object on stdout:

    {"status": "CREATE_COMPLETE",
     "stack_id": "arn:aws:cloudformation:...",
     "code": {"bucket": "...", "key": "..."},
     "outputs": {"OrdersQueueName": "...", ...},
     "resources": [{"logical_id": "OrdersQueue", "type": "AWS::SQS::Queue", "status": "CREATE_COMPLETE"}, ...],
     "skipped": [{"logical_id": "Budget", "type": "AWS::Budgets::Budget"}, ...],  # moto made nothing
     "dropped_outputs": ["FunctionUrl"],
     "disabled_mappings": ["<event source mapping UUID>", ...],
     "functions": {"Function": {"name", "runtime", "memory_mb", "timeout_seconds", "environment",
                   "reserved_concurrency", "event_source_mappings": [...]}},
     "events": [{"logical_id": "...", "type": "...", "status": "...", "reason": "..."}, ...]}

It exits 0 when the stack reaches CREATE_COMPLETE, 1 on any failure (the reason on stderr), 2 on bad
arguments.

What moto (5.2) does that this script works around, each checked against a moto server:
- Resource types moto's CloudFormation does not implement are skipped: the stack still reaches
  CREATE_COMPLETE, the only trace is a log line on the moto server's stderr,
  "No Moto CloudFormation support for AWS::Budgets::Budget", and ListStackResources returns a blank
  summary (empty LogicalResourceId and ResourceType) in its place. This script lists them under
  "skipped" by comparing the template's resources with ListStackResources (a resource with a
  Condition that was not created is left out: it may have been conditioned off).
  moto also ignores some properties of types it does support, silently: S3 Bucket
  PublicAccessBlockConfiguration and NotificationConfiguration, DynamoDB TimeToLiveSpecification,
  Lambda Tags and LoggingConfig. It validates no IAM policy document given in a template.
- An Output whose value uses Fn::GetAtt on a skipped resource breaks moto: directly, CreateStack
  answers HTTP 500; through Fn::Sub, every DescribeStacks answers HTTP 500. So outputs that refer
  (Ref, Fn::GetAtt or Fn::Sub) to a resource of a type in MOTO_UNSUPPORTED (or --unsupported) are
  removed before the stack is created and listed under "dropped_outputs".
- moto runs an enabled SQS event source mapping on every SendMessage: it receives the queue's
  visible messages, tries to run the function in Docker, and (Docker missing) makes them visible
  again, so each send raises the ApproximateReceiveCount of every waiting message, which pushes
  them to the dead-letter queue early; with Docker it would run and delete them. So after the
  stack is created every event source mapping of the stack is disabled with
  UpdateEventSourceMapping(Enabled=false), which moto honours (--keep-mappings skips this).
  Enabled "false" as a string (a template parameter) is NOT honoured by moto: it is truthy.

Credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_DEFAULT_REGION); when unset, "testing" and us-east-1. Standard library and boto3 only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Resource types moto 5.2's CloudFormation skips (checked against moto.cloudformation.parsing's
# model map). Only used to drop Outputs that refer to them; "skipped" is measured, not assumed.
MOTO_UNSUPPORTED = frozenset(
    {
        "AWS::Budgets::Budget",
        "AWS::Lambda::Url",
        "AWS::Lambda::Alias",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::CompositeAlarm",
        "AWS::Scheduler::Schedule",
        "AWS::Logs::MetricFilter",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::Subscription",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
    }
)

TERMINAL_OK = {"CREATE_COMPLETE"}
IN_PROGRESS_SUFFIX = "_IN_PROGRESS"


class DeployError(Exception):
    """A failure with a reason for stderr."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="moto server URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--template", required=True, help="CloudFormation JSON template")
    p.add_argument("--zip", required=True, help="function.zip to upload")
    p.add_argument("--stack", required=True, help="stack name")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="a template parameter; repeatable")
    p.add_argument("--code-bucket", help="bucket for the zip (default: <stack>-code, lowercased)")
    p.add_argument("--unsupported", action="append", default=[], metavar="TYPE",
                   help="another resource type moto skips (outputs referring to it are dropped)")
    p.add_argument("--keep-mappings", action="store_true",
                   help="leave the stack's event source mappings enabled")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the stack")
    args = p.parse_args(argv)
    params = {}
    for kv in args.param:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            p.error(f"--param wants K=V, got {kv!r}")
        params[key] = value
    args.params = params
    return args


def references(value, ids: set[str]) -> set[str]:
    """Logical ids among `ids` that `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str) and inner in ids:
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(target, str):
                    target = target.split(".", 1)[0]
                    if target in ids:
                        found.add(target)
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) and inner else inner
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^}!][^}]*)\}", text):
                        name = name.split(".", 1)[0]
                        if name in ids:
                            found.add(name)
            found |= references(inner, ids)
    elif isinstance(value, list):
        for item in value:
            found |= references(item, ids)
    return found


def clients(endpoint: str):
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
        region_name=region,
    )
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, s3={"addressing_style": "path"})

    def make(service):
        return session.client(service, endpoint_url=endpoint, config=config)

    return make("s3"), make("cloudformation"), make("lambda"), region


def upload_code(s3, bucket: str, zip_path: str, stack: str, region: str) -> str:
    with open(zip_path, "rb") as f:
        body = f.read()
    key = f"{stack}/{hashlib.sha256(body).hexdigest()[:16]}/function.zip"
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def wait_terminal(cf, stack: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = cf.describe_stacks(StackName=stack)["Stacks"][0]
        if not desc["StackStatus"].endswith(IN_PROGRESS_SUFFIX):
            return desc
        if time.monotonic() > deadline:
            raise DeployError(f"stack {stack} still {desc['StackStatus']} after {timeout:.0f} s")
        time.sleep(0.5)


def deploy(args: argparse.Namespace) -> dict:
    try:
        with open(args.template, encoding="utf-8") as f:
            template = json.load(f)
    except (OSError, ValueError) as e:
        raise DeployError(f"cannot read template {args.template}: {e}") from e
    declared = template.get("Parameters") or {}
    for name in ("CodeBucket", "CodeKey"):
        if name not in declared:
            raise DeployError(f"template {args.template} declares no {name} parameter")
        if name in args.params:
            raise DeployError(f"--param {name} is set by this script")
    # moto accepts parameters the template does not declare; CloudFormation rejects them.
    undeclared = sorted(set(args.params) - set(declared))
    if undeclared:
        raise DeployError(f"template {args.template} declares no parameter {', '.join(undeclared)}")

    resources = template.get("Resources") or {}
    unsupported = MOTO_UNSUPPORTED | set(args.unsupported)
    unsupported_ids = {lid for lid, r in resources.items() if r.get("Type") in unsupported}
    dropped = []
    outputs = template.get("Outputs") or {}
    for name in list(outputs):
        if references(outputs[name], unsupported_ids):
            dropped.append(name)
            del outputs[name]

    s3, cf, lam, region = clients(args.endpoint)
    bucket = args.code_bucket or re.sub(r"[^a-z0-9.-]", "-", f"{args.stack}-code".lower())[:63]
    key = upload_code(s3, bucket, args.zip, args.stack, region)

    params = dict(args.params, CodeBucket=bucket, CodeKey=key)
    cf.create_stack(
        StackName=args.stack,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    desc = wait_terminal(cf, args.stack, args.timeout)

    summaries = []
    paginator = cf.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=args.stack):
        summaries.extend(page["StackResourceSummaries"])
    created = [s for s in summaries if s.get("LogicalResourceId")]
    created_ids = {s["LogicalResourceId"] for s in created}
    skipped = [
        {"logical_id": lid, "type": r.get("Type", "")}
        for lid, r in resources.items()
        if lid not in created_ids and "Condition" not in r
    ]

    events = []
    for page in cf.get_paginator("describe_stack_events").paginate(StackName=args.stack):
        for e in page["StackEvents"]:
            if e.get("ResourceStatusReason"):
                events.append({
                    "logical_id": e.get("LogicalResourceId", ""),
                    "type": e.get("ResourceType", ""),
                    "status": e.get("ResourceStatus", ""),
                    "reason": e["ResourceStatusReason"],
                })

    disabled = []
    if desc["StackStatus"] in TERMINAL_OK and not args.keep_mappings:
        for s in created:
            if s.get("ResourceType") == "AWS::Lambda::EventSourceMapping":
                uuid = s["PhysicalResourceId"]
                state = lam.update_event_source_mapping(UUID=uuid, Enabled=False).get("State")
                if state not in ("Disabled", "Disabling"):
                    raise DeployError(f"event source mapping {uuid} is {state} after disabling it")
                disabled.append(uuid)

    # What each created function was given: its environment (the CLOUDPORT_* bindings), memory,
    # timeout, reserved concurrency, event source mappings and tags, read back from moto.
    functions = {}
    for s in created:
        if s.get("ResourceType") != "AWS::Lambda::Function":
            continue
        name = s["PhysicalResourceId"]
        config = lam.get_function_configuration(FunctionName=name)
        concurrency = lam.get_function_concurrency(FunctionName=name)
        mappings = lam.list_event_source_mappings(FunctionName=name).get("EventSourceMappings", [])
        functions[s["LogicalResourceId"]] = {
            "name": name,
            "runtime": config.get("Runtime", ""),
            "handler": config.get("Handler", ""),
            "memory_mb": config.get("MemorySize"),
            "timeout_seconds": config.get("Timeout"),
            "architectures": config.get("Architectures", []),
            "environment": (config.get("Environment") or {}).get("Variables", {}),
            "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
            "event_source_mappings": [
                {"source": m.get("EventSourceArn", ""), "batch_size": m.get("BatchSize"),
                 "response_types": m.get("FunctionResponseTypes", [])}
                for m in mappings
            ],
        }

    return {
        "status": desc["StackStatus"],
        "stack_id": desc.get("StackId", ""),
        "status_reason": desc.get("StackStatusReason") or "",
        "code": {"bucket": bucket, "key": key},
        "outputs": {o["OutputKey"]: o.get("OutputValue", "") for o in desc.get("Outputs") or []},
        "resources": [
            {"logical_id": s["LogicalResourceId"], "type": s.get("ResourceType", ""),
             "status": s.get("ResourceStatus", "")}
            for s in created
        ],
        "skipped": skipped,
        "dropped_outputs": dropped,
        "disabled_mappings": disabled,
        "functions": functions,
        "events": events,
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        result = deploy(args)
    except DeployError as e:
        print(f"deploy_moto: {e}", file=sys.stderr)
        return 1
    except ClientError as e:
        err = e.response.get("Error", {})
        print(f"deploy_moto: {e.operation_name} failed: {err.get('Code')}: {err.get('Message')}",
              file=sys.stderr)
        return 1
    except (BotoCoreError, OSError) as e:
        print(f"deploy_moto: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=None, sort_keys=False))
    if result["status"] not in TERMINAL_OK:
        reasons = "; ".join(f"{e['logical_id']} {e['status']}: {e['reason']}" for e in result["events"])
        print(f"deploy_moto: stack {args.stack} ended {result['status']}"
              f" {result['status_reason']} {reasons}".rstrip(), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
