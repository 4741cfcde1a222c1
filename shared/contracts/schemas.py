"""JSON Schemas of the event contracts and an AsyncAPI 3.0 document of the topics, generated from the models.

`python -m shared.contracts.schemas` rewrites docs/events/; a test fails when the committed files fall
behind the code.
"""

import json
from pathlib import Path

from shared.contracts import REGISTRY, Event, event_class
from shared.contracts.topics import TOPICS, dlq

OUT = Path(__file__).resolve().parents[2] / "docs" / "events"

CE_HEADERS = {
    "type": "object",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "content-type"],
    "properties": {
        "ce_id": {"type": "string", "description": "unique per event; consumers dedupe on it"},
        "ce_source": {"type": "string", "examples": ["/border/intake"]},
        "ce_type": {"type": "string"},
        "ce_specversion": {"const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_partitionkey": {"type": "string", "description": "the Kafka key: the returnee id"},
        "ce_correlationid": {"type": "string"},
        "content-type": {"const": "application/json"},
    },
}


def contracts() -> dict[str, type[Event]]:
    event_class("")  # import every contract module
    return {t: cls for t, cls in sorted(REGISTRY.items()) if ".test." not in t}


def _message_name(type_: str) -> str:
    return type_.removeprefix("kh.gov.border.").replace(".", "_")


def asyncapi() -> dict:
    by_topic: dict[str, list[str]] = {t.name: [] for t in TOPICS}
    for type_, cls in contracts().items():
        by_topic[cls.topic].append(type_)
    channels, operations, messages = {}, {}, {}
    for spec in TOPICS:
        channel = spec.name.replace(".", "_")
        channels[channel] = {
            "address": spec.name,
            "description": f"{spec.partitions} partitions; poison messages go to {dlq(spec.name)}",
            "messages": {
                _message_name(t): {"$ref": f"#/components/messages/{_message_name(t)}"}
                for t in by_topic[spec.name]
            },
            "bindings": {"kafka": {"partitions": spec.partitions, "replicas": 1}},
        }
        operations[f"publish_{channel}"] = {"action": "send", "channel": {"$ref": f"#/channels/{channel}"}}
    for type_, cls in contracts().items():
        messages[_message_name(type_)] = {
            "name": type_,
            "contentType": "application/json",
            "headers": CE_HEADERS,
            "payload": cls.model_json_schema(),
            "bindings": {
                "kafka": {"key": {"type": "string", "description": "returnee id (manifest id for manifests)"}}
            },
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Border return events",
            "version": "1.0.0",
            "description": "CloudEvents in Kafka binary mode, exchanged by the border-return services.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[Path, str]:
    """Every generated file and its text."""
    files = {OUT / "asyncapi.json": json.dumps(asyncapi(), indent=2, ensure_ascii=False) + "\n"}
    for type_, cls in contracts().items():
        files[OUT / "schemas" / f"{type_}.json"] = json.dumps(cls.model_json_schema(), indent=2) + "\n"
    return files


def main() -> None:
    for path, content in render().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    print(f"wrote {len(render())} files under {OUT}")


if __name__ == "__main__":
    main()
