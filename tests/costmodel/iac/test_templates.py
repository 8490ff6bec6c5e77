"""SAM and CloudFormation templates read from public files: resources, defaults, Globals,
intrinsic functions, events, state machine definitions, what is skipped or unresolved."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support.paths import ROOT

from costmodel import InvalidFile, InvalidUsage, UnresolvedWarning, from_cloudformation, from_sam
from costmodel.iac.intrinsics import SHORT_TAGS, Resolver, Unknown, load_document
from costmodel.iac.resources import (
    SAM_DEFAULTS,
    ApiResource,
    FunctionResource,
    QueueResource,
    StateMachineResource,
)

FIXTURES = ROOT / "tests" / "fixtures" / "iac"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_map_sample_reads_its_definition_file_with_substitutions() -> None:
    """DefinitionUri is read relative to the template; !GetAtt Fn.Arn substitutions resolve."""
    d = from_sam(FIXTURES / "sfn-map" / "template.yaml")
    machine = d.resources["MapStateStateMachine"]
    assert isinstance(machine, StateMachineResource) and machine.workflow == "standard"
    assert machine.definition is not None and machine.definition["StartAt"]
    arn = machine.substitutions["ReadFromSQSFunctionName"]
    assert arn.endswith(":function:ReadFromSQSFunction")
    assert machine.tasks[arn] == "ReadFromSQSFunction"
    read = machine.definition["States"]
    assert any(arn in json.dumps(state) for state in read.values())
    assert isinstance(d.resources["SQSQueue"], QueueResource)
    skipped = {s.key: s.type for s in d.skipped}
    assert skipped["DDBTable"] == "AWS::Serverless::SimpleTable"
    assert "SNSTopic" in skipped and d.unresolved == ()


def test_functions_take_sam_defaults_and_their_own_values() -> None:
    """MemorySize 128 and x86_64 when not set; Timeout from the function."""
    d = from_sam(FIXTURES / "sfn-map" / "template.yaml")
    read = d.resources["ReadFromSQSFunction"]
    assert isinstance(read, FunctionResource)
    assert (read.memory_mb, read.arch, read.timeout_s) == (
        SAM_DEFAULTS["memory_mb"],
        SAM_DEFAULTS["arch"],
        60.0,
    )


def test_globals_and_parameter_defaults_reach_every_function() -> None:
    """Power Tuning sets Timeout: !Ref totalExecutionTimeout in Globals (Default 300)."""
    d = from_sam(FIXTURES / "power-tuning" / "template.yml")
    functions = {k: r for k, r in d.resources.items() if isinstance(r, FunctionResource)}
    assert len(functions) == 6
    assert functions["executor"].timeout_s == 300.0 and functions["analyzer"].timeout_s == 10.0
    shorter = from_sam(
        FIXTURES / "power-tuning" / "template.yml", parameters={"totalExecutionTimeout": "60"}
    )
    assert shorter.resources["executor"].timeout_s == 60.0  # type: ignore[union-attr]


def test_a_false_condition_skips_the_resource_and_says_why() -> None:
    """payloadS3Policy has Condition S3BucketProvided, false with the default bucket ''."""
    d = from_sam(FIXTURES / "power-tuning" / "template.yml")
    reasons = {s.key: s.reason for s in d.skipped}
    assert reasons["payloadS3Policy"] == "condition S3BucketProvided is false"
    given = from_sam(
        FIXTURES / "power-tuning" / "template.yml", parameters={"payloadS3Bucket": "b"}
    )
    assert "payloadS3Policy" not in {s.key for s in given.skipped if "condition" in s.reason}


def test_a_substitution_outside_json_strings_is_made_before_parsing() -> None:
    """Power Tuning's ASL has "TimeoutSeconds": ${totalExecutionTimeout}, a bare number."""
    d = from_sam(FIXTURES / "power-tuning" / "template.yml")
    machine = d.resources["powerTuningStateMachine"]
    assert isinstance(machine, StateMachineResource) and machine.definition is not None
    assert machine.definition["States"]["Initializer"]["TimeoutSeconds"] == 300


def test_api_and_sqs_events_link_functions_to_their_api_and_queue() -> None:
    """The checkout sample: two functions behind a REST API, one fed by an SQS queue."""
    d = from_sam(FIXTURES / "sfn-checkout" / "template.yaml")
    api = d.resources["ApiGatewayApi"]
    assert isinstance(api, ApiResource) and api.protocol == "rest" and not api.implicit
    assert api.routes == ("PaymentServiceEndpoint", "ShippingServiceEndpoint")
    notify = d.resources["NotifyUserFunction"]
    assert isinstance(notify, FunctionResource)
    assert [(e.kind, e.target) for e in notify.events] == [("SQS", "EmailQueue")]


def test_express_machines_and_globals_timeout() -> None:
    """Type: EXPRESS is read; Globals.Function.Timeout 20 applies to functions without one."""
    d = from_sam(FIXTURES / "sfn-text-express" / "template.yaml")
    machine = d.resources["ExpressStateMachineForTextProcessing"]
    assert isinstance(machine, StateMachineResource) and machine.workflow == "express"
    assert d.resources["Base64DecodeFunction"].timeout_s == 20.0  # type: ignore[union-attr]
    assert d.resources["TriggerOnSQSQueueFunction"].timeout_s == 30.0  # type: ignore[union-attr]


def test_cloudformation_json_with_string_numbers() -> None:
    """A CFN JSON template from aws-cloudformation-templates: MemorySize "128" is a number."""
    d = from_cloudformation(FIXTURES / "cfn" / "apigateway_lambda_integration.json")
    assert d.kind == "cloudformation"
    fn = d.resources["LambdaFunction"]
    assert isinstance(fn, FunctionResource) and (fn.memory_mb, fn.timeout_s) == (128.0, 10.0)
    assert isinstance(d.resources["RestApi"], ApiResource)
    assert "ApiMethod" in {s.key for s in d.skipped}


def test_implicit_apis_and_http_apis(tmp_path: Path) -> None:
    """Api/HttpApi events without an API id create SAM's ServerlessRestApi/ServerlessHttpApi."""
    path = _write(
        tmp_path,
        "t.yaml",
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: Api, Properties: {Path: /, Method: get}}
        Post: {Type: HttpApi}
  B:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: HttpApi}
""",
    )
    d = from_sam(path)
    rest, http = d.resources["ServerlessRestApi"], d.resources["ServerlessHttpApi"]
    assert isinstance(rest, ApiResource) and rest.implicit and rest.routes == ("A",)
    assert isinstance(http, ApiResource) and http.protocol == "http" and http.routes == ("A", "B")


def test_every_short_tag_has_a_constructor() -> None:
    """Each short-form tag loads as its long form."""
    text = "\n".join(f"k{i}: {tag} x" for i, tag in enumerate(SHORT_TAGS))
    loaded = load_document(Path("t.yaml"), text=text)
    assert [next(iter(v)) for v in loaded.values()] == list(SHORT_TAGS.values())


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Fn::Sub": "a-${P}-${!Literal}"}, "a-7-${Literal}"),
        ({"Fn::Sub": ["${X}/${P}", {"X": "x"}]}, "x/7"),
        ({"Fn::Join": ["-", ["a", {"Ref": "P"}]]}, "a-7"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
        ({"Fn::FindInMap": ["Sizes", "prod", "mb"]}, 2048),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::Not": [{"Condition": "IsProd"}]}, True),
        ({"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "P"}, "7"]}]}, True),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, "arn:aws:lambda:eu-west-1:123456789012:function:Fn"),
        ({"Fn::Base64": "text"}, "text"),
        ({"k": {"Ref": "AWS::NoValue"}, "j": 1}, {"j": 1}),
    ],
)
def test_intrinsic_functions(node: object, expected: object) -> None:
    """Each intrinsic function evaluates with Parameters, Mappings and Conditions."""
    doc = {
        "Parameters": {
            "P": {"Type": "Number", "Default": "7"},
            "Stage": {"Type": "String", "Default": "dev"},
        },
        "Mappings": {"Sizes": {"prod": {"mb": 2048}}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {"Fn": {"Type": "AWS::Lambda::Function"}},
    }
    assert Resolver(doc, path="t.yaml", region="eu-west-1").value(node) == expected


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        ({"Fn::ImportValue": "X"}, "another stack"),
        ({"Ref": "NoDefault"}, "no Default"),
        ({"Ref": "Nothing"}, "no such parameter or resource"),
        ({"Fn::FindInMap": ["Sizes", "qa", "mb"]}, "not in Mappings"),
        ({"Fn::Sub": "${NoDefault}-x"}, "no Default"),
        ({"Fn::GetAZs": ""}, "availability zones"),
    ],
)
def test_what_cannot_be_known_is_unknown_with_a_reason(node: object, reason: str) -> None:
    """Unknowable values become Unknown(reason), never a guess."""
    doc = {
        "Parameters": {"NoDefault": {"Type": "String"}},
        "Mappings": {"Sizes": {}},
        "Resources": {},
    }
    found = Resolver(doc, path="t.yaml").value(node)
    assert isinstance(found, Unknown) and reason in found.reason


def test_unresolved_properties_are_listed_and_warned_with_the_default_used(tmp_path: Path) -> None:
    """MemorySize from a parameter without a default: reported, priced at 128 MB, warned."""
    path = _write(
        tmp_path,
        "t.yaml",
        """
Parameters:
  Mem: {Type: Number}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: !Ref Mem
      Timeout: !ImportValue SharedTimeout
""",
    )
    with pytest.warns(UnresolvedWarning, match="2 propert"):
        d = from_sam(path)
    where = [u.where for u in d.unresolved]
    assert where == [
        "t.yaml: Resources.Fn.Properties.MemorySize",
        "t.yaml: Resources.Fn.Properties.Timeout",
    ]
    assert "used 128.0" in d.unresolved[0].used and "no Default" in d.unresolved[0].reason
    assert d.resources["Fn"].memory_mb == 128.0  # type: ignore[union-attr]
    with pytest.warns(UnresolvedWarning, match="1 propert"):  # the timeout is still unknown
        given = from_sam(path, parameters={"Mem": "512"})
    assert given.resources["Fn"].memory_mb == 512.0  # type: ignore[union-attr]


def test_an_undeclared_parameter_is_an_error_listing_the_declared_ones() -> None:
    """parameters= naming a parameter the template lacks is InvalidUsage."""
    with pytest.raises(InvalidUsage, match=r"Nope not declared .* \(it declares PowerValues"):
        from_sam(FIXTURES / "power-tuning" / "template.yml", parameters={"Nope": 1})


def test_definitions_in_s3_are_reported_not_guessed(tmp_path: Path) -> None:
    """DefinitionS3Location and an s3:// DefinitionUri are unresolved; the machine is listed."""
    path = _write(
        tmp_path,
        "t.yaml",
        """
Resources:
  A:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionS3Location: {Bucket: b, Key: k}
  B:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: s3://bucket/flow.json
  C:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineType: EXPRESS
      DefinitionString: !Sub '{"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true}}}'
""",
    )
    with pytest.warns(UnresolvedWarning):
        d = from_sam(path)
    assert [u.where.split("Resources.")[1] for u in d.unresolved] == [
        "A.Properties.DefinitionS3Location",
        "B.Properties.DefinitionUri",
    ]
    assert d.resources["A"].definition is None  # type: ignore[union-attr]
    machine = d.resources["C"]
    assert isinstance(machine, StateMachineResource) and machine.workflow == "express"
    assert machine.definition == {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True}}}


def test_provisioned_concurrency_from_sam_and_from_a_version(tmp_path: Path) -> None:
    """ProvisionedConcurrencyConfig on a SAM function, or on an AWS::Lambda::Version."""
    path = _write(
        tmp_path,
        "t.yaml",
        """
Resources:
  Sam:
    Type: AWS::Serverless::Function
    Properties:
      AutoPublishAlias: live
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 5}
      SnapStart: {ApplyOn: PublishedVersions}
      EphemeralStorage: {Size: 2048}
      ReservedConcurrentExecutions: 20
  Plain:
    Type: AWS::Lambda::Function
    Properties: {MemorySize: 256, Architectures: [arm64]}
  PlainVersion:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Plain
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 3}
""",
    )
    d = from_sam(path)
    sam, plain = d.resources["Sam"], d.resources["Plain"]
    assert isinstance(sam, FunctionResource) and isinstance(plain, FunctionResource)
    assert (sam.provisioned_concurrency, sam.snap_start, sam.ephemeral_storage_mb) == (
        5.0,
        True,
        2048.0,
    )
    assert sam.reserved_concurrency == 20.0
    assert (plain.provisioned_concurrency, plain.arch, plain.memory_mb) == (3.0, "arm64", 256.0)


def test_malformed_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    """A YAML syntax error is InvalidFile with its line."""
    path = _write(tmp_path, "bad.yaml", "Resources:\n  Fn:\n    Type: [unclosed\n")
    with pytest.raises(InvalidFile, match=r"bad\.yaml: line 4, column 1: malformed YAML"):
        from_sam(path)


def test_malformed_json_names_the_file_and_line(tmp_path: Path) -> None:
    """A JSON syntax error is InvalidFile with its line and column."""
    path = _write(tmp_path, "bad.json", '{\n  "Resources": {\n    "Fn": ,\n  }\n}\n')
    with pytest.raises(InvalidFile, match=r"bad\.json: line 3, column 11: malformed JSON"):
        from_cloudformation(path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("AWSTemplateFormatVersion: '2010-09-09'\n", "Resources"),
        ("Resources:\n  Fn: {Properties: {}}\n", "Resources.Fn"),
        (
            "Resources:\n  Fn: {Type: AWS::Lambda::Function, Properties: {MemorySize: big}}\n",
            "Resources.Fn.Properties.MemorySize",
        ),
        (
            "Resources:\n  M: {Type: AWS::Serverless::StateMachine, Properties: {Type: FAST, "
            "Definition: {}}}\n",
            "Resources.M.Properties.Type",
        ),
        (
            "Resources:\n  M: {Type: AWS::Serverless::StateMachine, Properties: "
            "{DefinitionUri: missing.json}}\n",
            "Resources.M.Properties.DefinitionUri",
        ),
    ],
)
def test_wrong_templates_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    """No Resources, no Type, a non-number, a bad workflow type, a missing file."""
    with pytest.raises(InvalidFile) as caught:
        from_sam(_write(tmp_path, "t.yaml", text))
    assert caught.value.field == field and caught.value.path.endswith("t.yaml")


def test_yaml_without_pyyaml_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With PyYAML missing, a YAML template says pip install 'callwise[iac]'; JSON still reads."""
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(InvalidUsage, match=r"pip install 'callwise\[iac\]'"):
        from_sam(FIXTURES / "sfn-map" / "template.yaml")
    assert from_cloudformation(FIXTURES / "cfn" / "apigateway_lambda_integration.json").resources
