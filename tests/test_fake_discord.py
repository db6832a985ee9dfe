"""The fake Discord against a bare discord.Client: only discord.py here, no threadcast code.

Each test proves one thing the bot's end-to-end tests rely on: if discord.py accepts what
the fake sends and the fake records what discord.py sends, the fake is fit for the job.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fake_discord import FakeDiscord, rate_limited, server_error

pytestmark = pytest.mark.timeout(10)


def intents(*, message_content: bool = True) -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.message_content = message_content
    return chosen


def new_client(**options: Any) -> discord.Client:
    options.setdefault("intents", intents())
    return discord.Client(guild_ready_timeout=0.05, **options)


def record(client: discord.Client, *events: str) -> dict[str, list[Any]]:
    """Collect the events' arguments (one argument alone, several as a tuple)."""
    seen: dict[str, list[Any]] = {event: [] for event in events}
    for event in events:

        async def handler(*args: Any, _event: str = event) -> None:
            seen[_event].append(args[0] if len(args) == 1 else args)

        setattr(client, f"on_{event}", handler)
    return seen


@asynccontextmanager
async def running(client: discord.Client, fake: FakeDiscord) -> AsyncIterator[asyncio.Task[None]]:
    """Log in, connect until on_ready, and always close the client on the way out."""
    task: asyncio.Task[None] | None = None
    try:
        await client.login(fake.token)
        task = asyncio.create_task(client.connect())
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=3, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task in done:
            task.result()  # raises what stopped it
        assert ready in done, "on_ready never fired"
        yield task
    finally:
        await client.close()
        if task is not None and not task.done():
            await asyncio.wait_for(task, 3)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as server:
        yield server


class TreeClient(discord.Client):
    """A client with a CommandTree like threadcast's: groups, a context menu, autocomplete."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=intents(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.guild = discord.Object(guild_id)
        self.calls: list[tuple[str, Any]] = []
        self.delay = 0.0

        tc = app_commands.Group(name="tc", description="threadcast")
        feed = app_commands.Group(name="feed", description="Feeds", parent=tc)

        @feed.command(description="Subscribe a channel to a feed")
        async def add(interaction: discord.Interaction, url: str, channel: discord.TextChannel) -> None:
            await asyncio.sleep(self.delay)
            self.calls.append(("add", (interaction.permissions.manage_guild, url, channel.id)))
            await interaction.response.send_message(f"added {url}", ephemeral=True)

        @feed.command(description="Unsubscribe")
        async def remove(interaction: discord.Interaction, feed: str) -> None:
            await interaction.response.send_message(f"removed {feed}")

        @remove.autocomplete("feed")
        async def feeds(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"{current} (1)", value="1")]

        digest = app_commands.Group(name="digest", description="Digests")

        @digest.command(description="Preview the digest")
        async def preview(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send("the digest", ephemeral=True)

        @app_commands.context_menu(name="Feature in digest")
        async def feature(interaction: discord.Interaction, message: discord.Message) -> None:
            self.calls.append(("feature", (message.id, message.content)))
            await interaction.response.send_message("featuring...", ephemeral=True)
            await interaction.edit_original_response(content="featured")

        for command in (tc, digest, feature):
            self.tree.add_command(command, guild=self.guild)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=self.guild)


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[TreeClient]:
    client = TreeClient(fake.guild_id)
    async with running(client, fake):
        yield client


@pytest.mark.parametrize("compress", [True, False], ids=["zlib-stream", "text-frames"])
async def test_login_identify_ready_and_guild(compress: bool) -> None:
    async with FakeDiscord(compress=compress) as fake:
        client = new_client()
        seen = record(client, "ready")
        async with running(client, fake):
            assert [r.path for r in fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
            gateway = fake.connections[0]
            assert gateway.query["compress"] == "zlib-stream" and gateway.compressed is compress
            assert gateway.ops[:2] == [1, 2]  # a heartbeat right after HELLO, then IDENTIFY
            assert gateway.received[1]["d"]["intents"] == client.intents.value
            assert client.user is not None and client.user.id == fake.bot_id
            assert client.application_id == fake.app_id
            guild = client.get_guild(fake.guild_id)
            assert guild is not None and guild.name == fake.guild_name
            assert guild.member_count == len(fake.members)
            assert guild.me is not None and guild.owner_id == fake.owner_id
            assert isinstance(guild.get_channel(fake.general_id), discord.TextChannel)
            assert isinstance(guild.get_channel(fake.forum_id), discord.ForumChannel)
            moderator = guild.get_role(fake.moderator_role_id)
            assert moderator is not None and moderator.permissions.manage_guild
            assert not guild.default_role.permissions.manage_guild
        assert len(seen["ready"]) == 1
    assert discord.http.Route.BASE == "https://discord.com/api/v10"  # restored on exit


async def test_with_the_members_intent_the_guild_needs_no_chunking(fake: FakeDiscord) -> None:
    chosen = intents()
    chosen.members = True
    client = new_client(intents=chosen)
    async with running(client, fake):
        guild = client.get_guild(fake.guild_id)
        assert guild is not None and guild.chunked and len(guild.members) == len(fake.members)
        mod = guild.get_member(fake.mod_id)
        assert mod is not None and mod.guild_permissions.manage_guild
        assert 8 not in fake.connections[0].ops  # no REQUEST_GUILD_MEMBERS


async def test_user_messages_edits_reactions_and_deletes_reach_handlers(fake: FakeDiscord) -> None:
    robot = fake.add_member(name="robot", bot=True)
    client = new_client()
    events = ("message", "raw_message_edit", "raw_reaction_add", "raw_reaction_remove", "raw_message_delete")
    seen = record(client, *events, "raw_bulk_message_delete")
    async with running(client, fake):
        sent = await fake.user_message(fake.general_id, fake.member_id, "hello")
        await fake.user_message(fake.general_id, robot, "beep")
        await fake.wait_for(lambda: len(seen["message"]) == 2)
        hello, beep = seen["message"]
        assert (hello.content, hello.author.id, hello.author.bot) == ("hello", fake.member_id, False)
        assert isinstance(hello.author, discord.Member) and hello.guild.id == fake.guild_id
        assert hello.channel.id == fake.general_id and beep.author.bot

        await fake.user_edit(int(sent["id"]), "hello again")
        edit = await fake.wait_for(lambda: seen["raw_message_edit"])
        assert edit[0].message.content == "hello again"

        await fake.reaction_add(fake.mod_id, int(sent["id"]), "👍")
        added = (await fake.wait_for(lambda: seen["raw_reaction_add"]))[0]
        assert (added.user_id, added.emoji.name, added.member.id) == (fake.mod_id, "👍", fake.mod_id)
        await fake.reaction_remove(fake.mod_id, int(sent["id"]), "👍")
        await fake.wait_for(lambda: seen["raw_reaction_remove"])

        await fake.user_delete(int(sent["id"]))
        deleted = await fake.wait_for(lambda: seen["raw_message_delete"])
        assert deleted[0].message_id == int(sent["id"])
        await fake.bulk_delete(fake.general_id, [int(m["id"]) for m in fake.messages_in(fake.general_id)])
        bulk = await fake.wait_for(lambda: seen["raw_bulk_message_delete"])
        assert len(bulk[0].message_ids) == 1 and fake.messages_in(fake.general_id) == []


async def test_without_message_content_intent_content_is_blank_unless_the_bot_is_pinged(
    fake: FakeDiscord,
) -> None:
    client = new_client(intents=intents(message_content=False))
    seen = record(client, "message")
    async with running(client, fake):
        await fake.user_message(fake.general_id, fake.member_id, "my story")
        await fake.user_message(fake.general_id, fake.member_id, f"<@{fake.bot_id}> my story")
        await fake.wait_for(lambda: len(seen["message"]) == 2)
        blank, pinged = seen["message"]
        assert blank.content == "" and pinged.content.endswith("my story")


async def test_bot_messages_round_trip_over_rest(fake: FakeDiscord) -> None:
    client = new_client()
    seen = record(client, "message")
    async with running(client, fake):
        channel = client.get_channel(fake.general_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(embed=discord.Embed(title="An article", description="What do you think?"))
        stored = fake.messages_in(fake.general_id)
        assert [m["embeds"][0]["title"] for m in stored] == ["An article"]
        assert sent.id == int(stored[0]["id"]) and sent.embeds[0].description == "What do you think?"
        echo = await fake.wait_for(lambda: seen["message"])  # Discord echoes the bot's own messages
        assert echo[0].author == client.user

        await sent.edit(content="edited")
        await sent.add_reaction("👍")
        assert stored[0]["content"] == "edited" and stored[0]["edited_timestamp"]
        assert fake.reactions[sent.id] == {"👍": {fake.bot_id}}

        muted = await channel.send("@everyone read this", allowed_mentions=discord.AllowedMentions.none())
        loud = await channel.send("@everyone read this")
        assert not fake.messages_in(fake.general_id)[1]["mention_everyone"] and loud.mention_everyone

        upload = await channel.send("your data", file=discord.File(io.BytesIO(b"{}"), "my-data.json"))
        request = fake.requests_to("POST", f"/channels/{fake.general_id}/messages")[-1]
        assert request.files == {"my-data.json": b"{}"} and request.json["content"] == "your data"
        assert upload.attachments[0].filename == "my-data.json"

        history = [m.id async for m in channel.history(limit=10, after=sent)]
        assert history == [muted.id, loud.id, upload.id]  # oldest first when `after` is given
        query = fake.requests_to("GET", f"/channels/{fake.general_id}/messages")[0].query
        assert query == {"limit": "10", "after": str(sent.id)}

        await muted.delete()
        assert muted.id not in [int(m["id"]) for m in fake.messages_in(fake.general_id)]


async def test_threads_from_a_message_and_forum_posts(fake: FakeDiscord) -> None:
    client = new_client()
    seen = record(client, "thread_create", "thread_delete")
    async with running(client, fake):
        channel = client.get_channel(fake.general_id)
        forum = client.get_channel(fake.forum_id)
        assert isinstance(channel, discord.TextChannel) and isinstance(forum, discord.ForumChannel)
        starter = await channel.send("An article")
        thread = await starter.create_thread(name="Talk about it")
        assert thread.id == starter.id and thread.parent_id == channel.id
        created = await fake.wait_for(lambda: seen["thread_create"])
        assert created[0].id == thread.id and created[0].name == "Talk about it"
        await thread.send("first reply")
        assert [m["content"] for m in fake.messages_in(thread.id)] == ["first reply"]

        post = await forum.create_thread(name="A forum post", content="What do you think?")
        assert post.thread.id == post.message.id and post.message.content == "What do you think?"
        await fake.wait_for(lambda: len(seen["thread_create"]) == 2)
        assert client.get_channel(post.thread.id) is not None
        await fake.thread_delete(thread.id)
        gone = await fake.wait_for(lambda: seen["thread_delete"])
        assert gone[0].id == thread.id and client.get_channel(thread.id) is None


async def test_a_429_with_retry_after_is_retried_and_the_message_stored_once(fake: FakeDiscord) -> None:
    route = f"/channels/{fake.general_id}/messages"
    fake.inject("POST", route, rate_limited(0.05))
    client = new_client()
    async with running(client, fake):
        channel = client.get_channel(fake.general_id)
        assert isinstance(channel, discord.TextChannel)
        await channel.send("hello")
        assert [r.status for r in fake.requests_to("POST", route)] == [429, 200]
        assert len(fake.messages_in(fake.general_id)) == 1


async def test_errors_come_back_as_discord_py_exceptions(fake: FakeDiscord) -> None:
    fake.deny(fake.news_id)
    client = new_client()
    async with running(client, fake):
        news = client.get_channel(fake.news_id)
        assert isinstance(news, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as forbidden:
            await news.send("hello")
        assert forbidden.value.code == 50013
        with pytest.raises(discord.NotFound) as missing:
            await client.fetch_channel(1234)
        assert missing.value.code == 10003
        general = await client.fetch_channel(fake.general_id)
        assert isinstance(general, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as too_long:
            await general.send("x" * 2001)
        assert too_long.value.code == 50035 and "content" in str(too_long.value)
        fake.inject("POST", "/channels/*/messages", server_error(503))  # only 500/502/504/524 are retried
        with pytest.raises(discord.DiscordServerError):
            await general.send("hello")


async def test_a_refused_privileged_intent_ends_start_with_privileged_intents_required() -> None:
    async with FakeDiscord(privileged_intents=0) as fake:
        client = new_client()
        try:
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await asyncio.wait_for(client.start(fake.token), 3)
        finally:
            await client.close()
        assert not client.application_flags.gateway_message_content_limited


async def test_tree_sync_puts_the_guild_commands(fake: FakeDiscord, bot: TreeClient) -> None:
    (put,) = fake.requests_to("PUT", f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
    assert {c["name"] for c in put.json} == {"tc", "digest", "Feature in digest"}
    (tc,) = [c for c in fake.commands[fake.guild_id] if c["name"] == "tc"]
    (feed,) = tc["options"]
    assert (feed["name"], feed["type"]) == ("feed", 2)
    assert {(o["name"], o["type"]) for o in feed["options"]} == {("add", 1), ("remove", 1)}
    assert not fake.requests_to("PUT", f"/applications/{fake.app_id}/commands")


async def test_a_slash_command_reaches_its_callback_and_answers_ephemerally(
    fake: FakeDiscord, bot: TreeClient
) -> None:
    options = {"url": "https://example.com/feed", "channel": fake.news_id}
    by_mod = await fake.slash_command(fake.mod_id, fake.general_id, "tc feed add", options)
    by_alice = await fake.slash_command(fake.member_id, fake.general_id, "tc feed add", options)
    await fake.wait_for(lambda: by_mod.responses and by_alice.responses)
    assert by_mod.responses[0]["type"] == 4
    assert by_mod.responses[0]["data"]["flags"] == 64 and by_mod.responses[0]["data"]["content"].startswith(
        "added"
    )
    assert (by_mod.original or {}).get("flags") == 64
    assert sorted(bot.calls) == [
        ("add", (False, "https://example.com/feed", fake.news_id)),
        ("add", (True, "https://example.com/feed", fake.news_id)),
    ]
    callback = fake.requests_to("POST", f"/interactions/{by_mod.id}/{by_mod.token}/callback")[0]
    assert callback.query == {"with_response": "1"} and callback.status == 200


async def test_a_deferred_answer_then_a_followup(fake: FakeDiscord, bot: TreeClient) -> None:
    interaction = await fake.slash_command(fake.mod_id, fake.general_id, "digest preview")
    await fake.wait_for(lambda: interaction.followups)
    assert interaction.responses == [{"type": 5, "data": {"flags": 64}}]
    (answer,) = interaction.followups
    assert answer["content"] == "the digest" and answer["flags"] == 64  # no longer "thinking" (128)
    assert interaction.original is answer  # the first follow-up replaced the "thinking..." message
    (followup,) = fake.requests_to("POST", f"/webhooks/{fake.app_id}/{interaction.token}")
    assert followup.query["wait"] == "1"
    assert fake.messages_in(fake.general_id) == []  # ephemeral: nobody else sees them


async def test_a_context_menu_and_autocomplete(fake: FakeDiscord, bot: TreeClient) -> None:
    reply = await fake.user_message(fake.general_id, fake.member_id, "I had the same problem")
    menu = await fake.context_menu(fake.mod_id, int(reply["id"]), "Feature in digest")
    typing = await fake.autocomplete(fake.mod_id, fake.general_id, "tc feed remove", {"feed": "tech"}, "feed")
    await fake.wait_for(lambda: typing.responses and menu.original and menu.original["edited_timestamp"])
    original = menu.original or {}
    assert ("feature", (int(reply["id"]), "I had the same problem")) in bot.calls
    assert menu.responses[0]["data"]["content"] == "featuring..." and original["content"] == "featured"
    assert typing.responses == [{"type": 8, "data": {"choices": [{"name": "tech (1)", "value": "1"}]}}]


async def test_an_answer_after_the_deadline_gets_unknown_interaction(
    fake: FakeDiscord, bot: TreeClient
) -> None:
    fake.interaction_deadline, bot.delay = 0.05, 0.1
    options = {"url": "https://example.com/feed", "channel": fake.news_id}
    interaction = await fake.slash_command(fake.mod_id, fake.general_id, "tc feed add", options)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    requests = await fake.wait_for(lambda: fake.requests_to("POST", route))
    assert requests[0].status == 404 and interaction.responses == []


async def test_a_dropped_gateway_resumes_and_replays_what_was_missed(fake: FakeDiscord) -> None:
    client = new_client()
    seen = record(client, "message", "resumed")
    async with running(client, fake):
        await fake.drop_connection()
        await fake.user_message(fake.general_id, fake.member_id, "while you were away")
        await fake.wait_for(lambda: seen["resumed"] and seen["message"])
        assert [m.content for m in seen["message"]] == ["while you were away"]
        assert len(fake.connections) == 2 and 6 in fake.connections[1].ops
        assert 2 not in fake.connections[1].ops  # resumed, not identified again


async def test_a_malformed_dispatch_stops_the_client_with_a_key_error(fake: FakeDiscord) -> None:
    client = new_client()
    with pytest.raises(KeyError):
        async with running(client, fake) as connection:
            await fake.dispatch("MESSAGE_CREATE", {"id": "1", "channel_id": str(fake.general_id), "type": 0})
            await asyncio.wait_for(connection, 3)
