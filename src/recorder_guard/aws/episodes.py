"""Open episodes: one DynamoDB item per recorder that is known not to be recording.

An episode is what turns a check every 15 minutes into one alert, reminders at a set
interval and one "recording again" message. The event path opens the same item when it
alerts on a stop that is still in effect, so the backstop does not alert on that stop again.
Every change is a conditional write, so overlapping runs cannot both alert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recorder_guard.domain.recorder import BY_BACKSTOP, Episode, RecorderKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

EPISODE_PREFIX = "episode#"
DIGEST_KEY = "digest#expected-off"
EPISODE_PERMISSIONS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Scan",
)


def pk(key: RecorderKey) -> str:
    return f"{EPISODE_PREFIX}{key.account}#{key.region}#{key.recorder}"


def _item(episode: Episode) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": pk(episode.key)},
        "account": {"S": episode.key.account},
        "region": {"S": episode.key.region},
        "recorder": {"S": episode.key.recorder},
        "opened_at": {"N": str(episode.opened_at)},
        "notified_at": {"N": str(episode.notified_at)},
        "problem": {"S": episode.problem[:1024]},
        "source": {"S": episode.source},
        "reminders": {"N": str(episode.reminders)},
    }
    if episode.event_id:
        item["event_id"] = {"S": episode.event_id[:256]}
    if episode.finding:
        item["finding"] = {"S": episode.finding}
    return item


def _episode(item: dict[str, Any]) -> Episode:
    def text(name: str) -> str | None:
        value = item.get(name, {}).get("S")
        return str(value) if value is not None else None

    return Episode(
        key=RecorderKey(text("account") or "", text("region") or "", text("recorder") or ""),
        opened_at=int(item["opened_at"]["N"]),
        notified_at=int(item["notified_at"]["N"]),
        problem=text("problem") or "",
        source=text("source") or BY_BACKSTOP,
        event_id=text("event_id"),
        reminders=int(item.get("reminders", {}).get("N", "0")),
        finding=text("finding"),
    )


class EpisodeStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self.dynamodb, self.table = dynamodb, table

    def open_episodes(self) -> dict[RecorderKey, Episode]:
        """Every open episode: one paginated scan (the table holds little else)."""
        found: dict[RecorderKey, Episode] = {}
        paginator = self.dynamodb.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": EPISODE_PREFIX}},
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                episode = _episode(item)
                found[episode.key] = episode
        return found

    def open(self, episode: Episode) -> bool:
        """False when an episode is already open for this recorder (someone else alerted)."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item=_item(episode),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def restore(self, episode: Episode) -> None:
        """Put an episode back as it was (a notice about it could not be published)."""
        self.dynamodb.put_item(TableName=self.table, Item=_item(episode))

    def mark_reminded(self, episode: Episode, now: int) -> bool:
        """False when another run already reminded since `episode` was read."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk(episode.key)}},
                UpdateExpression="SET notified_at = :now, reminders = :count",
                ConditionExpression="notified_at = :seen",
                ExpressionAttributeValues={
                    ":now": {"N": str(now)},
                    ":count": {"N": str(episode.reminders + 1)},
                    ":seen": {"N": str(episode.notified_at)},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def attach_finding(self, key: RecorderKey, finding: str) -> None:
        """Keep the episode's Security Hub finding beside it (at most 240 KB, under DynamoDB's
        400 KB item limit), so reminders and the resolution re-import the whole finding."""
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"pk": {"S": pk(key)}},
                UpdateExpression="SET finding = :finding",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":finding": {"S": finding}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return  # closed meanwhile: nothing left to update

    def close(self, episode: Episode) -> bool:
        """False when it was already closed (another run sent the resolution)."""
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": pk(episode.key)}},
                ConditionExpression="attribute_exists(pk)",
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def claim_digest(self, now: int, interval_seconds: int) -> bool:
        """True for the first run after `interval_seconds` since the last digest."""
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"pk": {"S": DIGEST_KEY}, "sent_at": {"N": str(now)}},
                ConditionExpression="attribute_not_exists(pk) OR sent_at <= :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(now - interval_seconds)}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_digest(self, now: int) -> None:
        """The digest could not be published: let the next run send it."""
        self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": DIGEST_KEY}},
            ConditionExpression="sent_at = :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
