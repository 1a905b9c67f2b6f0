"""The spec is the public contract: names, the three auth modes, titles, secrets, enums."""

import json

from airbyte_cdk.test.standard_tests._spec_lint import find_secret_marking_errors

from destination_linkedin_capi import constants as c
from unit_tests.conftest import ROOT, run_cli


def load_spec():
    return json.loads((ROOT / "destination_linkedin_capi" / "spec.json").read_text())


def test_cli_prints_one_spec_with_three_auth_modes():
    code, messages, _, stderr = run_cli(["spec"])
    assert code == 0, stderr
    specs = [m for m in messages if m["type"] == "SPEC"]
    assert len(specs) == 1 and len(messages) == len([m for m in messages if m["type"] in ("SPEC", "LOG")])
    options = specs[0]["spec"]["connectionSpecification"]["properties"]["credentials"]["oneOf"]
    assert [o["properties"]["auth_type"]["const"] for o in options] == ["token_id", "access_token", "oauth2"]
    for option in options:
        assert option["title"] and "auth_type" in option["required"]


def test_integration_copy_of_spec_is_current():
    _code, messages, _, _ = run_cli(["spec"])
    spec = next(m["spec"] for m in messages if m["type"] == "SPEC")
    assert json.loads((ROOT / "integration_tests" / "spec.json").read_text()) == spec


def _walk(properties, prefix=""):
    for name, schema in properties.items():
        yield prefix + name, schema
        for option in schema.get("oneOf", []):
            yield from _walk(option["properties"], prefix + name + ".")


def test_every_field_has_title_description_and_order():
    properties = load_spec()["connectionSpecification"]["properties"]
    for path, schema in _walk(properties):
        if path.endswith("auth_type") or path == "request_budget.store":  # oneOf discriminators (const)
            continue
        assert schema.get("title"), path
        assert schema.get("description"), path
        assert isinstance(schema.get("order"), int), path
    orders = [schema["order"] for schema in properties.values()]
    assert len(orders) == len(set(orders))


def test_secrets_are_marked():
    connection = load_spec()["connectionSpecification"]
    assert find_secret_marking_errors(connection) == []
    secret_paths = {path for path, schema in _walk(connection["properties"]) if schema.get("airbyte_secret")}
    assert secret_paths == {
        "credentials.token_service_key",
        "credentials.access_token",
        "credentials.client_id",  # as Airbyte's LinkedIn Ads source marks it
        "credentials.client_secret",
        "credentials.refresh_token",
        "request_budget.url",
        "object_storage_config.access_key_id",
        "object_storage_config.secret_access_key",
    }


def test_enums_match_constants():
    properties = load_spec()["connectionSpecification"]["properties"]
    assert properties["conversion_events"]["items"]["enum"] == list(c.CONVERSION_TYPES)
    assert properties["api_version"]["default"] == c.DEFAULT_API_VERSION
    assert properties["rule_view_through_window"]["enum"] == list(c.VIEW_THROUGH_WINDOWS) == [1, 7, 30, 90]
    assert properties["batch_size"]["maximum"] == c.MAX_BATCH_SIZE
    assert properties["requests_per_minute"]["maximum"] == c.MAX_REQUESTS_PER_MINUTE
    assert properties["api_base_url"]["airbyte_hidden"] and properties["oauth_base_url"]["airbyte_hidden"]


def test_default_api_version_has_six_months_left():
    import datetime as dt

    sunset = c.VERSION_SUNSET_DATES[c.DEFAULT_API_VERSION]
    # Fails when the default goes stale: bump DEFAULT_API_VERSION (and the sunset table) then.
    assert sunset - dt.date.today() >= dt.timedelta(days=180) or sunset >= dt.date(2027, 5, 28)


def test_advanced_auth_declares_airbyte_oauth_for_the_oauth2_option():
    from airbyte_cdk.models import ConnectorSpecificationSerializer

    spec = load_spec()
    parsed = ConnectorSpecificationSerializer.load(spec)  # the protocol's own model accepts it
    auth = parsed.advanced_auth
    assert auth is not None and auth.auth_flow_type.value == "oauth2.0"
    assert auth.predicate_key == ["credentials", "auth_type"] and auth.predicate_value == "oauth2"
    oauth = next(
        option
        for option in spec["connectionSpecification"]["properties"]["credentials"]["oneOf"]
        if option["properties"]["auth_type"]["const"] == auth.predicate_value
    )
    outputs = spec["advanced_auth"]["oauth_config_specification"]
    server_in = outputs["complete_oauth_server_input_specification"]["properties"]
    server_out = outputs["complete_oauth_server_output_specification"]["properties"]
    complete = outputs["complete_oauth_output_specification"]["properties"]
    assert set(server_in) == set(server_out) == {"client_id", "client_secret"}
    assert set(complete) == {"access_token", "refresh_token"}
    for name, field in {**server_out, **complete}.items():
        path = field["path_in_connector_config"]
        assert path == ["credentials", name] and name in oauth["properties"], name
    for name in ("client_secret", "refresh_token", "access_token"):
        assert oauth["properties"][name]["airbyte_secret"] is True
    assert "access_token" not in oauth["required"]


def test_only_append_is_offered_as_data_activation_destinations_do():
    # A sent conversion cannot be replaced or deleted, and Append + Deduped would do nothing more here.
    assert load_spec()["supported_destination_sync_modes"] == ["append"]


def test_rejected_records_storage_is_declared_as_airbyte_does():
    storage = load_spec()["connectionSpecification"]["properties"]["object_storage_config"]
    options = {option["properties"]["storage_type"]["enum"][0]: option for option in storage["oneOf"]}
    assert list(options) == ["None", "S3", "Local"]
    assert set(options["S3"]["properties"]) == {
        "storage_type",
        "access_key_id",
        "secret_access_key",
        "role_arn",
        "s3_bucket_name",
        "s3_bucket_region",
        "s3_endpoint",
        "bucket_path",
        "format",
        "compression",
        "path_format",
        "file_name_format",
    }
    assert options["S3"]["required"] == ["storage_type", "s3_bucket_name", "s3_bucket_region", "bucket_path"]
    hidden = {name for name, field in options["S3"]["properties"].items() if field.get("airbyte_hidden")}
    assert hidden == {"format", "compression", "path_format", "file_name_format"}
    assert options["Local"]["required"] == ["storage_type", "local_path"]


def test_the_mappings_are_lists_of_objects_outside_the_authentication_options():
    """Airbyte's form renders lists of objects; the mapping sits beside Authentication, so a mode switch keeps it."""
    import jsonschema

    connection = load_spec()["connectionSpecification"]
    properties = connection["properties"]
    for option in properties["credentials"]["oneOf"]:
        assert "conversion_mapping" not in option["properties"] and "conversion_mapping" not in option["required"]
        assert option.get("additionalProperties", True)  # older configs keep it there, and stay valid
    mapping, streams = properties["conversion_mapping"], properties["stream_events"]
    assert mapping["type"] == streams["type"] == "array"
    assert mapping["items"]["required"] == ["event", "rule_ids"] and mapping["items"]["additionalProperties"] is False
    assert mapping["items"]["properties"]["rule_ids"]["type"] == "array"
    assert streams["items"]["required"] == ["stream", "event"] and streams["items"]["additionalProperties"] is False
    listed = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t"},
        "conversion_mapping": [{"event": "LEAD", "rule_ids": ["22285180", "urn:lla:llaPartnerConversion:7"]}],
        "stream_events": [{"stream": "orders", "event": "LEAD"}],
    }
    older = {
        "account_id": "512345678",
        "credentials": {"auth_type": "access_token", "access_token": "t", "conversion_mapping": "LEAD=22285180"},
    }
    validator = jsonschema.Draft7Validator(connection)
    assert [error.message for error in validator.iter_errors(listed)] == []
    assert [error.message for error in validator.iter_errors(older)] == []
    assert list(validator.iter_errors({**listed, "conversion_mapping": [{"event": "LEAD", "rule_ids": ["x"]}]}))
