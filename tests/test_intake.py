"""The commands-in-flight policy every platform shares (bot.intake), over a real App and registry:
a closing platform refuses new commands with one answer, waits for those under way, and
answers with the standard words."""

from __future__ import annotations

import asyncio

from bot.app import App
from bot.commands.registry import Answer, CommandContext, CommandRegistry
from bot.events import Caller, CommandInvoked
from bot.i18n import Languages, Words
from bot.intake import DONE, RESTARTING, Intake, failed
from bot.models import Community

WHERE = Community("console", "local")


def call(path: str) -> CommandInvoked:
    return CommandInvoked(WHERE, "general", Caller("u1", "Ada", is_moderator=True), tuple(path.split()))


def app_with_a_slow_command(gate: asyncio.Event, started: asyncio.Event) -> App:
    app = App()

    async def slow(ctx: CommandContext) -> Answer:
        started.set()
        await gate.wait()
        return Answer("slow done")

    async def quick(ctx: CommandContext) -> Answer:
        return Answer("quick done")

    app.commands.add("slow", slow, help="waits for the test")
    app.commands.add("quick", quick, help="answers at once")
    return app


async def platform_call(intake: Intake, event: CommandInvoked) -> Answer:
    """What an adapter does with a command it received, in the command's own task."""
    refused = await intake.admit(event.community)
    if refused is not None:
        return refused
    return await intake.run(event)


async def test_a_command_is_run_and_answered() -> None:
    intake = Intake(app_with_a_slow_command(asyncio.Event(), asyncio.Event()))
    answer = await asyncio.create_task(platform_call(intake, call("quick")))
    assert answer == Answer("quick done")
    assert not intake.closing


async def test_closing_waits_for_the_command_under_way_and_refuses_new_ones() -> None:
    gate, started = asyncio.Event(), asyncio.Event()
    intake = Intake(app_with_a_slow_command(gate, started))
    under_way = asyncio.create_task(platform_call(intake, call("slow")))
    await started.wait()
    closing = asyncio.create_task(intake.close(timeout=60))
    await asyncio.sleep(0)
    assert intake.closing
    # A command arriving now is refused with the standard answer and never reaches the app.
    refused = await asyncio.create_task(platform_call(intake, call("quick")))
    assert refused == Answer(RESTARTING, ok=False)
    await asyncio.sleep(0.01)
    assert not closing.done(), "close returned while a command was under way"
    gate.set()
    await closing
    assert under_way.done() and under_way.result() == Answer("slow done")


async def test_closing_gives_up_waiting_after_its_timeout() -> None:
    gate, started = asyncio.Event(), asyncio.Event()
    intake = Intake(app_with_a_slow_command(gate, started))
    stuck = asyncio.create_task(platform_call(intake, call("slow")))
    await started.wait()
    await intake.close(timeout=0.01)
    assert not stuck.done()  # close returned although the command still waits
    gate.set()
    assert await stuck == Answer("slow done")


async def test_an_event_tracked_by_the_adapter_is_waited_for_too() -> None:
    intake = Intake(App())
    release = asyncio.Event()
    finished: list[str] = []

    async def event_handling() -> None:
        intake.track()
        await release.wait()
        finished.append("event")

    task = asyncio.create_task(event_handling())
    await asyncio.sleep(0)
    closing = asyncio.create_task(intake.close(timeout=60))
    await asyncio.sleep(0.01)
    assert not closing.done()
    release.set()
    await closing
    assert finished == ["event"] and task.done()


def test_the_standard_answers() -> None:
    assert DONE == "Done."
    assert failed() == Answer("That did not work: the error is in the bot's log.", ok=False)
    assert failed("channel: not a channel") == Answer("That did not work: channel: not a channel", ok=False)


async def test_the_standard_answers_are_in_the_communitys_language() -> None:
    languages = Languages()

    async def german(community: Community) -> Words:
        return languages.words("de")

    app = App(CommandRegistry(words_for=german, languages=languages))

    async def silent(ctx: CommandContext) -> Answer:
        return Answer("", private=False)

    app.commands.add("silent", silent, help="says nothing")
    intake = Intake(app)
    done = await asyncio.create_task(platform_call(intake, call("silent")))
    assert done == Answer("Erledigt.", private=False)
    assert (await intake.failed(WHERE)).text == "Das hat nicht geklappt: Der Fehler steht im Log des Bots."
    assert (await intake.failed(None)).text == "That did not work: the error is in the bot's log."
    await intake.close(timeout=1)
    refused = await asyncio.create_task(platform_call(intake, call("silent")))
    assert (
        not refused.ok
        and refused.text == "threadcast wird neu gestartet; versuch es in einer Minute noch einmal."
    )


async def test_a_store_slow_to_say_the_language_costs_english_not_the_answer() -> None:
    async def stuck(community: Community) -> Words:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    intake = Intake(App(CommandRegistry(words_for=stuck)))
    started = asyncio.get_running_loop().time()
    answer = await intake.failed(WHERE)
    assert answer.text == "That did not work: the error is in the bot's log."
    assert asyncio.get_running_loop().time() - started < 5
