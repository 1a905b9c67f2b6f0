"""Config parsing: the conversion-mapping grammar, field errors, URL rules, derived events."""

import pytest

from destination_linkedin_capi.config.connector import ConnectorConfig, parse_conversion_mapping, parse_stream_events
from destination_linkedin_capi.errors import ConfigError


def access_token_config(**overrides):
    config = {
        "account_id": "512345678",
        "credentials": {
            "auth_type": "access_token",
            "access_token": "tok-SECRET",
            "conversion_mapping": "LEAD=22285180,PURCHASE=22285181",
        },
    }
    config.update(overrides)
    return config


@pytest.mark.parametrize(
    "text, expected",
    [
        ("LEAD=22285180,PURCHASE=22285181", {"LEAD": [22285180], "PURCHASE": [22285181]}),
        ("  LEAD = 22285180 ,  PURCHASE=22285181  ", {"LEAD": [22285180], "PURCHASE": [22285181]}),
        ("demo_request=1", {"demo_request": [1]}),
        ("sign.up-v2=7", {"sign.up-v2": [7]}),
        ("LEAD=urn:lla:llaPartnerConversion:22285180", {"LEAD": [22285180]}),
        ("LEAD=22285180|22285190", {"LEAD": [22285180, 22285190]}),
        (
            "LEAD = 22285180 | urn:lla:llaPartnerConversion:22285190 ,PURCHASE=3",
            {"LEAD": [22285180, 22285190], "PURCHASE": [3]},
        ),
    ],
)
def test_mapping_accepts(text, expected):
    assert parse_conversion_mapping(text) == expected


@pytest.mark.parametrize(
    "text, fragments",
    [
        ("LEAD=22285180,PURCHASE", ["'PURCHASE'", "no '='", "EVENT=CONVERSION_ID"]),
        ("LEAD=22285180,,PURCHASE=1", ["empty entry (entry 2)", "EVENT=CONVERSION_ID"]),
        ("LEAD=abc", ["'LEAD=abc'", "conversion ID 'abc' must be a number", "EVENT=CONVERSION_ID"]),
        ("LEAD=-5", ["'LEAD=-5'", "must be a number"]),
        ("LEAD=0", ["'LEAD=0'", "must be a number"]),
        ("LEAD=12.5", ["'LEAD=12.5'", "must be a number"]),
        ("LEAD=", ["'LEAD='", "must be a number"]),
        ("1LEAD=5", ["'1LEAD=5'", "event name '1LEAD'", "start with a letter"]),
        ("LE AD=5", ["'LE AD=5'", "event name 'LE AD'"]),
        ("=5", ["'=5'", "event name ''"]),
        ("LEAD=1,lead=2", ["'lead=2'", "mapped twice", "'LEAD=1'"]),
        ("", ["is empty"]),
        ("LEAD=urn:lla:other:5", ["'LEAD=urn:lla:other:5'", "must be a number"]),
        ("LEAD=١٢٣", ["must be a number"]),
        ("LEAD=22285180|", ["'LEAD=22285180|'", "conversion ID '' must be a number", "separated by '|'"]),
        ("LEAD=1|x", ["'LEAD=1|x'", "conversion ID 'x' must be a number"]),
        ("LEAD=1|2|1", ["'LEAD=1|2|1'", "conversion ID 1 is listed twice"]),
        ("LEAD=1,lead=2|3", ["'lead=2|3'", "mapped twice", "EVENT=ID|ID"]),
    ],
)
def test_mapping_rejects_with_a_sentence_naming_the_entry(text, fragments):
    with pytest.raises(ConfigError) as raised:
        parse_conversion_mapping(text)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_stream_events_parse_and_reject():
    assert parse_stream_events("orders=PURCHASE, signups = SIGN_UP") == {"orders": "PURCHASE", "signups": "SIGN_UP"}
    with pytest.raises(ConfigError, match="'orders' appears twice"):
        parse_stream_events("orders=PURCHASE,orders=LEAD")
    with pytest.raises(ConfigError, match="'orders=' needs a stream and an event"):
        parse_stream_events("orders=")


def test_stream_events_must_name_configured_events():
    with pytest.raises(ConfigError, match="names event 'SIGN_UP', which is not configured"):
        ConnectorConfig.parse(access_token_config(stream_events="signups=SIGN_UP"))
    parsed = ConnectorConfig.parse(access_token_config(stream_events="orders=purchase"))
    assert parsed.stream_events == {"orders": "purchase"}


@pytest.mark.parametrize("account", ["512345678", " 512345678 ", "urn:li:sponsoredAccount:512345678"])
def test_account_id_forms(account):
    parsed = ConnectorConfig.parse(access_token_config(account_id=account))
    assert parsed.account_id == 512345678
    assert parsed.account_urn == "urn:li:sponsoredAccount:512345678"


@pytest.mark.parametrize("account", ["abc", "urn:li:organization:5", "", "12 34"])
def test_bad_account_id_names_the_field(account):
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(access_token_config(account_id=account))
    message = str(raised.value)
    assert "Ad account ID" in message and "'account_id'" in message and "digits" in message


def test_missing_fields_are_named():
    with pytest.raises(ConfigError, match=r"Ad account ID is required \(config field 'account_id'\)"):
        ConnectorConfig.parse({"credentials": access_token_config()["credentials"]})
    with pytest.raises(
        ConfigError, match=r"Conversion mapping is required in access-token mode \(config field 'conversion_mapping'\)"
    ):
        ConnectorConfig.parse(access_token_config(credentials={"auth_type": "access_token", "access_token": "x"}))
    with pytest.raises(ConfigError, match="must be one of: token_id, access_token, oauth2"):
        ConnectorConfig.parse(access_token_config(credentials={"auth_type": "password"}))


def test_errors_never_echo_values():
    config = access_token_config(api_version="SECRET-LOOKING-VALUE")
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(config)
    assert "SECRET-LOOKING-VALUE" not in str(raised.value)
    assert "LinkedIn API version" in str(raised.value) and "YYYYMM" in str(raised.value)


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://api.linkedin.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9000/", True),
        ("http://[::1]:9000", True),
        ("http://api.example.com", False),
        ("http://10.0.0.5:80", False),
        ("ftp://127.0.0.1", False),
        ("not a url", False),
    ],
)
def test_plain_http_only_to_loopback(url, ok):
    config = access_token_config(api_base_url=url)
    if ok:
        assert ConnectorConfig.parse(config).api_base_url == url.rstrip("/")
    else:
        with pytest.raises(ConfigError, match="API base URL"):
            ConnectorConfig.parse(config)


def test_token_service_url_rule_applies_too():
    config = access_token_config(
        credentials={
            "auth_type": "token_id",
            "token_id": "590708082141560832",
            "token_service_url": "http://cdp.example",
        }
    )
    config["conversion_events"] = ["LEAD"]
    with pytest.raises(ConfigError, match="Token service URL uses plain http"):
        ConnectorConfig.parse(config)


def test_access_token_events_are_the_mapping_keys():
    parsed = ConnectorConfig.parse(access_token_config())
    assert {key: (e.name, e.rule_id) for key, e in parsed.events.items()} == {
        "lead": ("LEAD", 22285180),
        "purchase": ("PURCHASE", 22285181),
    }
    assert not parsed.can_manage_rules
    only_lead = ConnectorConfig.parse(access_token_config(conversion_events=["LEAD"]))
    assert list(only_lead.events) == ["lead"]
    with pytest.raises(ConfigError, match="SIGN_UP has none"):
        ConnectorConfig.parse(access_token_config(conversion_events=["SIGN_UP"]))


def test_an_event_mapped_to_several_rules_keeps_them_in_order():
    parsed = ConnectorConfig.parse(
        access_token_config(
            credentials={
                "auth_type": "access_token",
                "access_token": "tok-SECRET",
                "conversion_mapping": "LEAD=22285180|22285190,PURCHASE=22285181",
            }
        )
    )
    lead, purchase = parsed.events["lead"], parsed.events["purchase"]
    assert (lead.rule_id, lead.more_rule_ids, lead.rule_ids) == (22285180, (22285190,), (22285180, 22285190))
    assert (purchase.rule_id, purchase.more_rule_ids, purchase.rule_ids) == (22285181, (), (22285181,))


def test_token_id_events_combine_selection_and_mapping():
    config = {
        "account_id": "5",
        "credentials": {
            "auth_type": "token_id",
            "token_id": " 590708082141560832 ",
            "token_service_url": "https://cdp.example/token",
            "conversion_mapping": "LEAD=11",
        },
        "conversion_events": ["LEAD", "PURCHASE"],
    }
    parsed = ConnectorConfig.parse(config)
    assert parsed.credentials.token_id == "590708082141560832"
    assert parsed.events["lead"].rule_id == 11
    assert parsed.events["purchase"].rule_id is None and parsed.events["purchase"].conversion_type == "PURCHASE"
    assert parsed.can_manage_rules


def test_rule_managing_modes_need_an_event():
    config = {
        "account_id": "5",
        "credentials": {"auth_type": "oauth2", "client_id": "a", "client_secret": "b", "refresh_token": "c"},
    }
    with pytest.raises(ConfigError, match="Select at least one conversion event"):
        ConnectorConfig.parse(config)


def test_unknown_conversion_type_is_refused():
    config = access_token_config(conversion_events=["NOT_A_TYPE"])
    with pytest.raises(ConfigError, match="Conversion events"):
        ConnectorConfig.parse(config)


def test_defaults_and_plain_settings():
    parsed = ConnectorConfig.parse(access_token_config())
    assert parsed.batch_size == 5000
    assert parsed.requests_per_minute == 600
    assert parsed.requests_per_day == 300_000
    assert parsed.api_version == "202607"
    assert parsed.invalid_record_policy == "skip"
    assert parsed.dry_run is False
    assert parsed.event_name_field == "event_name"


@pytest.mark.parametrize("value, fragment", [("batch_size", 5001), ("requests_per_minute", 601)])
def test_limits_are_enforced(value, fragment):
    with pytest.raises(ConfigError, match=value):
        ConnectorConfig.parse(access_token_config(**{value: fragment}))


def test_amount_in_minor_units_needs_a_default_currency_with_minor_units():
    assert ConnectorConfig.parse(access_token_config()).amount_in_minor_units is False
    parsed = ConnectorConfig.parse(access_token_config(amount_in_minor_units=True, default_currency="JPY"))
    assert parsed.amount_in_minor_units is True
    with pytest.raises(ConfigError, match="Default currency 'XAU' has no minor units in ISO 4217"):
        ConnectorConfig.parse(access_token_config(amount_in_minor_units=True, default_currency="xau"))
    assert ConnectorConfig.parse(access_token_config(default_currency="XAU")).default_currency == "XAU"


def test_rejected_share_options():
    parsed = ConnectorConfig.parse(access_token_config())
    assert (parsed.rejected_warn_percent, parsed.max_rejected_percent) == (50, None)
    parsed = ConnectorConfig.parse(access_token_config(rejected_warn_percent=20, max_rejected_percent=10))
    assert (parsed.rejected_warn_percent, parsed.max_rejected_percent) == (20, 10)
    with pytest.raises(ConfigError, match=r"Maximum rejected share \(%\)"):
        ConnectorConfig.parse(access_token_config(max_rejected_percent=101))


def test_currency_and_field_mapping_rules():
    assert ConnectorConfig.parse(access_token_config(default_currency="eur")).default_currency == "EUR"
    with pytest.raises(ConfigError, match="'XXY' is not an ISO 4217 currency"):
        ConnectorConfig.parse(access_token_config(default_currency="xxy"))
    duplicate = [
        {"linkedin_field": "email", "record_field": "a"},
        {"linkedin_field": "email", "record_field": "b"},
    ]
    with pytest.raises(ConfigError, match="'email' is mapped twice"):
        ConnectorConfig.parse(access_token_config(field_mappings=duplicate))
    parsed = ConnectorConfig.parse(
        access_token_config(field_mappings=[{"linkedin_field": "email", "record_field": " user.email "}])
    )
    assert parsed.field_mappings == {"email": "user.email"}


def test_listed_campaigns_need_ids():
    with pytest.raises(ConfigError, match="Campaign IDs is empty"):
        ConnectorConfig.parse(access_token_config(campaign_association="listed"))


@pytest.mark.parametrize("path", ["consents[0].granted", "consent.ad_storage", "consent"])
def test_consent_field_takes_the_field_mapping_path_grammar(path):
    assert ConnectorConfig.parse(access_token_config(consent_field=path)).consent_field == path


@pytest.mark.parametrize("path", ["consents[x].granted", "consents..granted", "consents[0"])
def test_a_malformed_consent_path_is_a_config_error(path):
    with pytest.raises(ConfigError, match=r"Consent field is not a valid path.*consents\[0\]\.granted"):
        ConnectorConfig.parse(access_token_config(consent_field=path))


# --- the list forms of Airbyte's UI, the text forms of older configs ----------------------------------------------


CREDS = {"auth_type": "access_token", "access_token": "tok-SECRET"}


def top_level(mapping, **overrides):
    """An access-token config with `mapping` at the top level and none inside Authentication."""
    return access_token_config(credentials=CREDS, conversion_mapping=mapping, **overrides)


def outcome(raw):
    """What parsing gives: the events and stream events, or the error sentence."""
    try:
        parsed = ConnectorConfig.parse(raw)
    except ConfigError as error:
        return str(error)
    return parsed.events, parsed.stream_events


@pytest.mark.parametrize(
    "listed, text",
    [
        ([{"event": "LEAD", "rule_ids": ["22285180"]}], "LEAD=22285180"),
        (
            [{"event": " LEAD ", "rule_ids": [22285180]}, {"event": "PURCHASE", "rule_ids": ["22285181"]}],
            "LEAD=22285180,PURCHASE=22285181",
        ),
        ([{"event": "LEAD", "rule_ids": ["urn:lla:llaPartnerConversion:7"]}], "LEAD=urn:lla:llaPartnerConversion:7"),
        ([{"event": "LEAD", "rule_ids": ["22285180", "22285190"]}], "LEAD=22285180|22285190"),
        ([{"event": "LEAD", "rule_ids": ["0"]}], "LEAD=0"),
        ([{"event": "LEAD", "rule_ids": ["1"]}, {"event": "lead", "rule_ids": ["2"]}], "LEAD=1,lead=2"),
    ],
)
def test_the_list_form_of_the_mapping_reads_as_its_text_form(listed, text):
    assert outcome(top_level(listed)) == outcome(top_level(text))
    assert outcome(top_level(listed)) == outcome(access_token_config(credentials={**CREDS, "conversion_mapping": text}))


def test_the_list_form_gives_the_events():
    parsed = ConnectorConfig.parse(top_level([{"event": "LEAD", "rule_ids": ["22285180"]}]))
    assert [(e.name, e.rule_id) for e in parsed.events.values()] == [("LEAD", 22285180)]


@pytest.mark.parametrize(
    "listed, fragment",
    [
        ([{"event": "LEAD"}], "entry 1 must be an object with a text 'event' and a list 'rule_ids'"),
        ([{"event": "LEAD", "rule_ids": []}], "entry 1 must be an object"),
        ([{"event": "LEAD", "rule_ids": "22285180"}], "entry 1 must be an object"),
        (["LEAD=1"], "entry 1 must be an object"),
        ([{"event": "1LEAD", "rule_ids": ["1"]}], "event name '1LEAD' must start with a letter"),
        ([{"event": "LEAD,X", "rule_ids": ["1"]}], "event name 'LEAD,X'"),
        ([{"event": "LEAD", "rule_ids": ["1,PURCHASE=2"]}], "entry 1 (LEAD): each rule ID must be a number"),
        ([{"event": "LEAD", "rule_ids": ["1|2"]}], "each rule ID must be a number"),
        ([{"event": "LEAD", "rule_ids": [True]}], "each rule ID must be a number"),
        ({"LEAD": "1"}, "must be a list of objects such as"),
    ],
)
def test_a_malformed_list_form_is_refused_with_a_sentence(listed, fragment):
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(top_level(listed))
    assert fragment in str(raised.value)


def test_an_extra_key_in_a_list_entry_is_refused_by_the_spec():
    with pytest.raises(ConfigError, match=r"'conversion_mapping\.0'"):
        ConnectorConfig.parse(top_level([{"event": "LEAD", "rule_ids": ["1"], "rule_id": "2"}]))


def test_the_mapping_inside_authentication_still_works_and_the_top_level_one_wins():
    old = ConnectorConfig.parse(access_token_config())
    assert [e.rule_id for e in old.events.values()] == [22285180, 22285181] and old.warnings == []
    both = ConnectorConfig.parse(access_token_config(conversion_mapping=[{"event": "SIGN_UP", "rule_ids": ["9"]}]))
    assert [(e.name, e.rule_id) for e in both.events.values()] == [("SIGN_UP", 9)]
    assert both.warnings == [
        "Conversion mapping is given twice: at the top level and inside Authentication (where older configs kept "
        "it); the top-level one is used. Remove credentials.conversion_mapping from the config."
    ]


@pytest.mark.parametrize("auth", ["token_id", "oauth2"])
def test_the_top_level_mapping_serves_the_rule_managing_modes_too(auth):
    credentials = {
        "token_id": {"auth_type": "token_id", "token_id": "5", "token_service_url": "https://cdp.example/t"},
        "oauth2": {"auth_type": "oauth2", "client_id": "c", "client_secret": "s", "refresh_token": "r"},
    }[auth]
    parsed = ConnectorConfig.parse(
        {"account_id": "1", "credentials": credentials, "conversion_mapping": [{"event": "demo", "rule_ids": ["4"]}]}
    )
    assert [(e.name, e.rule_id) for e in parsed.events.values()] == [("demo", 4)]


def test_the_list_form_of_stream_events_reads_as_its_text_form():
    listed = [{"stream": "orders", "event": "PURCHASE"}, {"stream": " my stream ", "event": "lead"}]
    parsed = ConnectorConfig.parse(access_token_config(stream_events=listed))
    assert parsed.stream_events == {"orders": "purchase", "my stream": "lead"}
    assert outcome(access_token_config(stream_events="orders=PURCHASE")) == outcome(
        access_token_config(stream_events=[{"stream": "orders", "event": "PURCHASE"}])
    )
    assert parse_stream_events([{"stream": "a,b=c", "event": "LEAD"}]) == {"a,b=c": "LEAD"}  # no text splitting


@pytest.mark.parametrize(
    "listed, fragment",
    [
        ([{"stream": "orders"}], "Stream events entry 1 must be an object with a text 'stream' and 'event'"),
        ([{"stream": "orders", "event": 5}], "entry 1 must be an object"),
        ([{"stream": " ", "event": "LEAD"}], "needs a stream and an event"),
        ([{"stream": "a", "event": "LEAD"}, {"stream": "a", "event": "PURCHASE"}], "stream 'a' appears twice"),
        ([{"stream": "a", "event": "SIGN_UP"}], "names event 'SIGN_UP', which is not configured"),
        (7, "Stream events must be a list of objects"),
    ],
)
def test_a_malformed_list_of_stream_events_is_refused_with_a_sentence(listed, fragment):
    with pytest.raises(ConfigError) as raised:
        ConnectorConfig.parse(access_token_config(stream_events=listed))
    assert fragment in str(raised.value)


def test_ids_may_be_json_numbers():
    parsed = ConnectorConfig.parse(
        access_token_config(account_id=512345678, campaign_association="listed", campaign_ids=[123, "456"])
    )
    assert parsed.account_id == 512345678 and parsed.campaign_ids == ["123", "456"]
    for bad in (True, -5, 12.5):
        with pytest.raises(ConfigError, match=r"Ad account ID is not valid \(config field 'account_id'\)"):
            ConnectorConfig.parse(access_token_config(account_id=bad))


def test_unknown_top_level_keys_are_named_once_with_the_closest_known_key():
    parsed = ConnectorConfig.parse(access_token_config(acount_id="1", stream_event="a=LEAD", colour="red"))
    assert parsed.warnings == [
        "Unknown config keys ignored: 'acount_id' (did you mean 'account_id'?), 'colour', 'stream_event' (did you "
        "mean 'stream_events'?). Check the spelling against the spec."
    ]
    assert ConnectorConfig.parse(access_token_config()).warnings == []
