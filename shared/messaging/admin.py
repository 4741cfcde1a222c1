"""Creating the system's topics on a broker."""

import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.contracts.topics import TopicSpec, all_specs


async def ensure_topics(bootstrap: str, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create the missing topics; returns the names created."""
    specs = all_specs() if specs is None else specs
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # Another process may win the race to create a topic: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1) for s in missing]
                )
        return [s.name for s in missing]
    finally:
        await admin.close()
