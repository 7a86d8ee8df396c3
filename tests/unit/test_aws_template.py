"""The AWS templates say what docs/deploy.md promises: a private database reached with a verified
certificate by a least-privilege role, functions inside the VPC, and no role without the
permissions boundary, which the pipeline's execution role cannot create roles without or change.

No AWS is reachable from the tests: the templates are read as CloudFormation reads them (its
short-form tags become the long forms) and their properties checked; `./run lint` runs cfn-lint.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
BOUNDARY_ARN = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/boundary-${AWS::StackName}"}


class CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: `!Ref x` is {"Ref": x}, `!Sub s` {"Fn::Sub": s}."""


def _intrinsic(loader: CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((DEPLOY / name).read_text(), Loader=CloudFormationLoader)
    return loaded


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load("template.yaml")


@pytest.fixture(scope="module")
def bootstrap() -> dict[str, Any]:
    return load("bootstrap.yaml")


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_database_is_not_publicly_accessible(template: dict[str, Any]) -> None:
    database = template["Resources"]["Database"]["Properties"]
    assert database["PubliclyAccessible"] is False
    assert database["ManageMasterUserPassword"] is True
    assert "DatabaseIngressCidr" not in template["Parameters"]


def _covers_postgres(rule: dict[str, Any]) -> bool:
    if str(rule.get("IpProtocol")) == "-1":
        return True
    return int(rule.get("FromPort", 0)) <= 5432 <= int(rule.get("ToPort", 65535))


def test_nothing_admits_the_internet_to_postgresql(template: dict[str, Any]) -> None:
    rules = [
        rule
        for group in of_type(template, "AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]
    rules += [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    assert rules, "the database's security group admits no one at all"
    for rule in rules:
        if not _covers_postgres(rule):
            continue
        assert "CidrIp" not in rule, rule
        assert "CidrIpv6" not in rule, rule
    database_group = template["Resources"]["DatabaseSecurityGroup"]["Properties"]
    assert database_group["SecurityGroupIngress"] == [
        {
            "Description": database_group["SecurityGroupIngress"][0]["Description"],
            "IpProtocol": "tcp",
            "FromPort": 5432,
            "ToPort": 5432,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]},
        }
    ]


def test_the_functions_reach_only_https_and_the_database(template: dict[str, Any]) -> None:
    egress = template["Resources"]["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress] == [("tcp", 443, 443)]
    to_database = template["Resources"]["FunctionToDatabaseEgress"]["Properties"]
    assert to_database["DestinationSecurityGroupId"] == {"Fn::GetAtt": ["DatabaseSecurityGroup", "GroupId"]}
    assert (to_database["FromPort"], to_database["ToPort"]) == (5432, 5432)


def test_every_function_runs_in_the_vpc_with_verify_full(template: dict[str, Any]) -> None:
    functions = of_type(template, "AWS::Serverless::Function") | of_type(template, "AWS::Lambda::Function")
    assert set(functions) == {"Function", "MigrateFunction"}
    for name, function in functions.items():
        properties = function["Properties"]
        vpc = properties["VpcConfig"]
        assert vpc["SecurityGroupIds"] == [{"Fn::GetAtt": ["FunctionSecurityGroup", "GroupId"]}], name
        assert vpc["SubnetIds"]["Fn::If"][0] == "CreateNetwork", name
        variables = properties["Environment"]["Variables"]
        assert variables["TMR_DATABASE_SSLMODE"] == "verify-full", name
        # SAM generates a role (without the boundary) for a function that names none.
        assert properties["Role"]["Fn::GetAtt"][0].endswith("Role"), name


def test_the_created_private_network_routes_through_a_nat_and_an_s3_endpoint(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    route = resources["PrivateDefaultRoute"]["Properties"]
    assert route == {
        "RouteTableId": {"Ref": "PrivateRouteTable"},
        "DestinationCidrBlock": "0.0.0.0/0",
        "NatGatewayId": {"Ref": "NatGateway"},
    }
    endpoint = resources["S3GatewayEndpoint"]["Properties"]
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["RouteTableIds"] == [{"Ref": "PrivateRouteTable"}]
    for subnet in ("PrivateSubnetA", "PrivateSubnetB"):
        assert resources[subnet]["Properties"]["MapPublicIpOnLaunch"] is False
        assert resources[subnet]["Condition"] == "CreateNetwork"
    # The default private ranges lie outside a default VPC's subnets (172.31.0.0-172.31.95.255).
    defaults = template["Parameters"]["PrivateSubnetCidrs"]["Default"].split(",")
    taken = ipaddress.ip_network("172.31.0.0/18"), ipaddress.ip_network("172.31.64.0/19")
    for cidr in map(ipaddress.ip_network, defaults):
        assert cidr.subnet_of(ipaddress.ip_network("172.31.0.0/16"))
        assert not any(cidr.overlaps(block) for block in taken), cidr


def test_the_serving_function_never_gets_the_master_secret(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    variables = resources["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["TMR_DATABASE_SECRET_ARN"] == {"Ref": "AppDatabaseSecret"}
    assert variables["TMR_MIGRATE_ON_START"] == "false"  # tmr_app could not migrate anyway
    assert "MasterUserSecret" not in repr(resources["FunctionRole"])
    assert "DatabaseSecretArnOverride" not in repr(resources["FunctionRole"])
    migrate = resources["MigrateFunction"]["Properties"]
    assert migrate["Environment"]["Variables"]["TMR_APP_DATABASE_SECRET_ARN"] == {"Ref": "AppDatabaseSecret"}
    assert "Events" not in migrate  # nothing but a direct invocation reaches the master's credentials
    secret = resources["AppDatabaseSecret"]["Properties"]["GenerateSecretString"]
    assert '"username": "tmr_app"' in secret["SecretStringTemplate"]
    assert secret["PasswordLength"] >= 32


def test_every_role_carries_the_permissions_boundary(template: dict[str, Any]) -> None:
    roles = of_type(template, "AWS::IAM::Role")
    assert set(roles) == {"FunctionRole", "MigrateFunctionRole", "CodeDeployRole"}
    for name, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") == BOUNDARY_ARN, name
    preference = template["Resources"]["Function"]["Properties"]["DeploymentPreference"]
    assert preference["Role"] == {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}
    # No SAM construct that makes a role of its own: policies given to a function, state machines.
    for function in of_type(template, "AWS::Serverless::Function").values():
        assert "Policies" not in function["Properties"]
    assert not of_type(template, "AWS::Serverless::StateMachine")


def _boundary(bootstrap: dict[str, Any]) -> dict[str, Any]:
    policies = of_type(bootstrap, "AWS::IAM::ManagedPolicy")
    assert set(policies) == {"PermissionsBoundary"}
    policy: dict[str, Any] = policies["PermissionsBoundary"]["Properties"]
    return policy


def test_the_boundary_is_the_policy_the_template_names(bootstrap: dict[str, Any]) -> None:
    assert _boundary(bootstrap)["ManagedPolicyName"] == {"Fn::Sub": "boundary-${AppStackName}"}


def test_the_boundary_allows_what_the_roles_need_and_no_iam(
    template: dict[str, Any], bootstrap: dict[str, Any]
) -> None:
    allowed = [
        pattern
        for statement in _boundary(bootstrap)["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
        for pattern in as_list(statement["Action"])
    ]
    assert not [pattern for pattern in allowed if pattern.split(":")[0] in {"iam", "sts", "organizations"}]
    assert "*" not in allowed
    needed = {
        action
        for name in ("FunctionRole", "MigrateFunctionRole")
        for statement in statements(template["Resources"][name])
        for action in as_list(statement["Action"])
    }
    # What AWSCodeDeployRoleForLambda grants CodeDeploy for an alias shift with alarms.
    needed |= {"cloudwatch:DescribeAlarms", "lambda:UpdateAlias", "lambda:GetAlias", "sns:Publish"}
    for action in sorted(needed):
        assert any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed), action


def _execution_statements(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    return statements(bootstrap["Resources"]["CloudFormationExecutionRole"])


def test_the_pipeline_creates_roles_only_with_the_boundary(bootstrap: dict[str, Any]) -> None:
    boundary_ref = {"Ref": "PermissionsBoundary"}
    # What gives a role rights; taking them away (DeleteRolePolicy, DetachRolePolicy) is not guarded.
    guarded = {
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:PutRolePermissionsBoundary",
    }
    for role_name in ("CloudFormationExecutionRole", "DeployRole"):
        for statement in statements(bootstrap["Resources"][role_name]):
            if statement["Effect"] != "Allow":
                continue
            actions = set(as_list(statement["Action"]))
            assert not [a for a in actions if "*" in a and a.startswith("iam:")], statement
            if actions & guarded:
                condition = statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
                assert condition == boundary_ref, statement
    # The deploy role (GitHub's OIDC) creates no role at all: CloudFormation does, with the above.
    deploy_actions = {
        a
        for s in statements(bootstrap["Resources"]["DeployRole"])
        if s["Effect"] == "Allow"
        for a in as_list(s["Action"])
    }
    assert not deploy_actions & (guarded | {"iam:CreatePolicy", "iam:CreatePolicyVersion"})


def test_the_boundary_itself_cannot_be_changed_or_removed(bootstrap: dict[str, Any]) -> None:
    denied: dict[str, Any] = {}
    for statement in _execution_statements(bootstrap) + statements(bootstrap["Resources"]["DeployRole"]):
        if statement["Effect"] == "Deny":
            for action in as_list(statement["Action"]):
                denied.setdefault(action, []).extend(as_list(statement["Resource"]))
    for action in (
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
    ):
        assert {"Ref": "PermissionsBoundary"} in denied[action], action
    assert "iam:DeleteRolePermissionsBoundary" in denied


def test_the_workflow_passes_the_network_and_migrates_before_traffic() -> None:
    workflow = (DEPLOY.parents[1] / ".github" / "workflows" / "deploy.yml").read_text()
    assert "FunctionSubnetIds=" in workflow
    assert "global-bundle.pem" in workflow
    assert "--rds-ca" in workflow
    before, after = workflow.split("- name: sam deploy", 1)
    assert '"tmr": "migrate"' in before  # new code's migrations run before traffic shifts
    assert '"tmr": "migrate"' in after  # and again once the stack is current (first deploy)
