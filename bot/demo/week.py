"""A realistic community week, generated: for trying digests by hand and for tests.

`plan_week` draws the whole week from a seeded `random.Random` (same seed, same
week) as plain records; `populate_week` writes it through the `Store` protocol.
Tests call `plan_week` again to know what was written without asking the store.

The week has what a real one has: busy and silent discussions, replies of every
length sharing phrases ("night shift", "remote work"), "+1"s, emoji and bare
links, near-duplicates, reactions, featured and hidden replies, edits and
deletions, late replies on older articles, a few opted-out and anonymous
members, and hostile text (mass pings, raw mention markup, HTML and
javascript: links, bidi and control characters, one 5,000-character reply).
Text is stored as written, not cleaned the way the collector would clean it,
so every output has to make it safe by itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.models import ArticleDraft, Community, MemberPrefs
from bot.store import Store

# -- data tables -------------------------------------------------------------------------------------

# (slug, three (title, summary) pairs, first-person sentences replies are made of). Each topic's
# sentences share its key phrase, as replies in a busy discussion do.
Topic = tuple[str, tuple[tuple[str, str], ...], tuple[str, ...]]

# fmt: off
TOPICS: tuple[Topic, ...] = (
    ("remote-work", (
        ("Half of office workers would quit rather than give up remote work, survey finds",
         "A survey of 4,000 employees finds flexibility now ranks above pay rises; managers say"
         " collaboration suffers, staff say the commute was the real productivity killer."),
        ("City centre cafés struggle as remote work keeps commuters at home",
         "Lunchtime trade is down a third since 2019; owners turn to weekend brunch and co-working."),
        ("Company ends remote work for new hires, keeps it for existing staff",
         "The two-tier policy has split teams; the firm says mentoring juniors needs a shared office."),
    ), (
        "I switched to remote work in 2020 and I'm never going back to a ninety-minute commute.",
        "Remote work saved my sanity, but I had to learn to close the laptop at six.",
        "The hardest part of remote work for me was loneliness; I joined a co-working space.",
        "Our team does remote work four days and one office day, and that office day is all meetings.",
        "My manager measures us by hours online, which makes remote work feel like surveillance.",
        "Without the commute I get an hour back every day and I spend it cooking with my kids.",
        "As a junior I learned far less during remote work; nobody overheard my mistakes.",
        "We moved out of the city because of remote work, a return-to-office mandate would ruin us.",
        "Honestly the home office setup cost me a fortune, and the company never paid a cent of it.",
        "I miss the small talk in the kitchen more than I expected, remote work is quiet.",
    )),
    ("night-shift", (
        ("Nurses on permanent night shift report twice the sleep problems of day staff",
         "A hospital trust study follows 900 nurses for three years; rotating rosters did even worse."),
        ("Night bus drivers ask for safer breaks after a string of assaults",
         "Drivers say the night shift leaves them alone at terminus stops with nowhere to rest."),
        ("Warehouse to run a permanent night shift to meet next-day delivery targets",
         "The company promises a premium of 20 percent; the union wants a cap on consecutive nights."),
    ), (
        "I worked night shift in a hospital for six years and my body never really adjusted.",
        "The night shift premium sounds good until you count the birthdays and school plays you miss.",
        "Blackout curtains and a strict sleep schedule were the only things that made night shift bearable.",
        "On night shift the quiet hours are when the real teamwork happens, I still miss that crew.",
        "After three years of night shift my doctor told me to stop, my blood pressure was awful.",
        "Rotating rosters are worse than a permanent night shift, your sleep never settles.",
        "My partner works days and I work the night shift, we basically leave notes on the fridge.",
        "I drove a night bus for a while, the breaks at the terminus were the scariest part.",
        "Nobody talks about how lonely the night shift commute home is when everyone else heads in.",
        "Coffee at 3am on night shift is a ritual, but I had to quit it after 4am to sleep at all.",
    )),
    ("four-day-week", (
        ("Four-day week trial: 56 of 61 companies keep it after a year",
         "Revenue held steady and sick days fell; most firms cut meetings rather than focus time."),
        ("Council staff move to a four-day week to fill vacancies",
         "Officials say it is the only way to hire planners when the private sector pays more."),
        ("Why the four-day week rarely reaches shift workers",
         "Retail, care and hospitality staff say compressed hours just mean ten-hour days."),
    ), (
        "My company tried the four-day week last spring and the Friday off changed my whole life.",
        "A four-day week with ten-hour days is not a four-day week, it is just exhaustion in fewer days.",
        "We kept the four-day week by cutting standing meetings, nobody misses them.",
        "In care work a four-day week would only work if they hired more staff, which they never do.",
        "The four-day week made me a better parent, Fridays are for the school run and the allotment.",
        "I'd take a four-day week over a pay rise any day, time is the thing I can't buy back.",
        "Our clients didn't even notice the four-day week, we rotate who covers Fridays.",
        "Friday off sounds great but my inbox on Monday under the four-day week is brutal.",
    )),
    ("cycling", (
        ("Protected bike lanes double cycling on two main roads within a year",
         "Counters show weekday trips up 110 percent; shops along the route report no drop in trade."),
        ("E-bike subsidy runs out in three weeks as demand soars",
         "The city will review the scheme after 6,000 applications; cargo bikes were a third of them."),
        ("Residents split over plan to remove parking for a cycle route",
         "Forty spaces would go; the council says the route links three schools."),
    ), (
        "Since the protected bike lane opened I cycle to work every day, before that it was too scary.",
        "My e-bike replaced our second car, the cargo bike does the school run and the shopping.",
        "I was against losing the parking but the bike lane made our street quieter, I was wrong.",
        "Painted bike lanes are useless, only protected bike lanes get parents to let kids ride.",
        "The e-bike subsidy is the only reason I could afford one, they cost as much as a used car.",
        "Winter is the real test, nobody clears the bike lane when it snows.",
        "I cycle with my daughter to school now and she knows every crossing by heart.",
        "Delivery vans park in the bike lane every morning on my route, enforcement is zero.",
    )),
    ("gardens", (
        ("Allotment waiting lists hit ten years in some boroughs",
         "Councils are splitting plots in half and opening disused land to cope with demand."),
        ("Supermarket car park becomes a community garden",
         "Forty raised beds and a tool library open this month behind the old station."),
        ("Community gardens cut loneliness among older residents, study says",
         "Participants reported fewer GP visits after a year of weekly gardening sessions."),
    ), (
        "I waited seven years for an allotment and the first summer the slugs ate everything.",
        "Our community garden has a shared tool library, nobody needs to own a strimmer anymore.",
        "My mum started going to the community garden after dad died, it gave her a reason to get up.",
        "Half plots are the way to go, a full allotment is a second job.",
        "The best thing about the community garden is swapping seedlings with the neighbours in May.",
        "We tried a community garden on our estate but vandalism ended it within a year.",
        "Growing tomatoes with my kids taught them more about food than any school lesson.",
        "The allotment waiting list here is so long I started guerrilla gardening on the verge.",
    )),
    ("heat", (
        ("Cities open cooling centres as temperatures pass 38°C",
         "Libraries and town halls stay open late; charities warn many older people will not travel."),
        ("Schools told to plan for heat closures as summers get hotter",
         "Classrooms in older buildings reached 34°C last July."),
        ("Tree planting drive aims to cool the hottest streets by 3°C",
         "Maps show treeless estates are up to five degrees warmer than leafy suburbs."),
    ), (
        "Our top-floor flat hit 35 degrees last summer, we slept on the living room floor.",
        "The cooling centre at our library was a lifesaver for my grandmother during the heatwave.",
        "My classroom has no blinds on the south side, during the heatwave the kids just wilt.",
        "We planted trees on our street ten years ago and the shade now makes a real difference.",
        "Working outdoors in a heatwave is dangerous, our site only stops work when someone faints.",
        "A cheap fan and wet towels got us through, but that is not a plan for the next heatwave.",
        "Nobody in my building has air conditioning and the landlord says it is not his problem.",
    )),
    ("phones", (
        ("Secondary schools ban phones for the whole day from September",
         "Pupils will lock phones in pouches at the gate; heads report calmer corridors."),
        ("Parents' group pledges no smartphones before 14",
         "Over 3,000 families have signed; organisers say it only works if everyone joins."),
        ("Teenagers describe life after a school phone ban",
         "Some say break times got louder and happier, others miss being reachable."),
    ), (
        "My son's school banned phones last year and he says lunch breaks are fun again.",
        "The phone ban works only because every parent agreed, one holdout and it falls apart.",
        "As a teacher the phone ban gave me back ten minutes of every lesson.",
        "My daughter needs her phone to get home safely on the late bus, a total ban worries me.",
        "We waited until 14 for a smartphone and she was the last in her class, it was hard.",
        "The phone pouches broke within a week, the kids figured out the magnets straight away.",
        "Honestly the adults need a phone ban more than the teenagers do.",
    )),
    ("libraries", (
        ("Library stays open until midnight during exam season",
         "Students queue at opening time; staff say it is the only quiet warm place many have."),
        ("Half of branch libraries to be run by volunteers",
         "Campaigners warn that opening hours will shrink as volunteers burn out."),
        ("Library of things lets residents borrow drills, tents and sewing machines",
         "Over 400 items are lent each month; the most popular is a carpet cleaner."),
    ), (
        "I wrote my whole dissertation in the library because my house-share had no quiet room.",
        "Our library of things lent me a drill, a ladder and a tent in one summer.",
        "Volunteer-run libraries close the moment the three retired people running them get tired.",
        "The library was the only warm place my dad could go last winter without spending money.",
        "My kids learned to love reading at the Saturday story hour at our branch library.",
        "Late opening at the library during exams is a great idea, I'd have used it every night.",
        "The library of things near me has a waiting list for the carpet cleaner, every spring.",
    )),
    ("rent", (
        ("Rents rise 9 percent in a year as supply dries up",
         "Tenants now spend on average 38 percent of their income on rent."),
        ("City caps short-term lets to 90 nights a year",
         "Hosts will need a licence; officials hope thousands of homes return to long-term rent."),
        ("Young adults living with parents hits a record high",
         "One in three people aged 25 to 34 still lives in the family home."),
    ), (
        "My rent went up twice in eighteen months and the landlord still won't fix the boiler.",
        "Half the flats in my building are short-term lets, the neighbours change every weekend.",
        "I'm 31 and living with my parents again to save a deposit, it is humbling but it works.",
        "We pay more than half our income in rent, there is nothing left to save.",
        "The short-term lets cap is long overdue, our street turned into a hotel.",
        "After my third eviction notice I moved out of the city and commute two hours.",
        "A rent cap would help, but only if someone actually enforces it.",
    )),
    ("transit", (
        ("Night trains return to the Alps after a decade away",
         "Sleepers will run three times a week from December; tickets go on sale Monday."),
        ("Bus route cuts leave villages without an evening service",
         "The last bus from town will leave at 18:10 from next month."),
        ("Flat-fare public transport ticket boosts ridership by 25 percent",
         "Rural routes saw the biggest increase; operators ask who pays when the subsidy ends."),
    ), (
        "I took the old night train in 2012 and I still remember waking up in the mountains.",
        "Our village lost its evening bus and now my teenager depends on me for every trip.",
        "The flat-fare ticket made me leave the car at home, the bus is cheaper than parking now.",
        "Night trains are lovely but the couchettes were sold out months ahead every time I tried.",
        "If the last bus leaves at six, nobody who works a normal day can use it.",
        "I commute by train and the flat fare saves me about 80 a month.",
        "Rural buses only survive if people ride them, and people only ride frequent buses.",
    )),
    ("ai-at-work", (
        ("Two thirds of office staff use AI tools their employer has not approved",
         "IT departments worry about leaks; workers say the tools save them hours a week."),
        ("Translators say AI has halved their rates in two years",
         "Agencies now ask for 'post-editing' of machine output at a fraction of the old fee."),
        ("Hospital trials AI note-taking in consultations",
         "Doctors report more eye contact with patients; privacy campaigners want clearer consent."),
    ), (
        "I use an AI tool to draft emails every day and my boss has no idea.",
        "As a freelance translator my rates fell by half, post-editing machine output pays peanuts.",
        "Our GP practice uses AI note-taking and the doctor actually looked at me for once.",
        "The AI tool saves me time on boring reports but I check every number it writes.",
        "We banned AI tools at work after someone pasted a client contract into one.",
        "I'm a junior developer and the AI tool writes the boilerplate, I still do the thinking.",
        "Nobody asked me whether my consultation could be recorded by an AI, consent matters.",
    )),
    ("repair", (
        ("Repair café fixes its 10,000th appliance",
         "Volunteers say toasters, lamps and vacuum cleaners are the most common patients."),
        ("Right to repair law forces makers to sell spare parts for ten years",
         "Phones, washing machines and fridges are covered from next year."),
        ("Repair vouchers cut electrical waste in pilot city",
         "Residents got 200 off repairs; 30,000 vouchers were claimed in the first year."),
    ), (
        "I volunteer at a repair café and we fix about thirty toasters a month.",
        "The right to repair should include software locks, my tractor needs the dealer to reset a code.",
        "A repair voucher saved my washing machine, the part cost 40 and a new machine would be 600.",
        "My grandfather repaired everything himself, now I can't open my phone without a heat gun.",
        "The repair café taught me to solder, I fixed my kid's headphones last week.",
        "Spare parts for ten years is great if the parts don't cost more than the appliance.",
        "Repair cafés run on volunteers, ours nearly closed when the two electricians moved away.",
    )),
)

HOSTILE_ARTICLE = (
    "Opinion: <b>@everyone</b> in the class group chat is no way to talk to parents <script>x()</script>",
    "Schools say <@&42> role pings and <!channel> alerts flood parents at 6am;"
    " [read the guidance](javascript:alert(1)) before you post.",
)

SOURCES = ("The Daily Ledger", "Harbour City Post", "Northside Gazette", "Civic Wire", "The Weekly Commons")

PROMPTS = (
    "What do you make of “{title}”? Share your own experience in the thread.",
    "Has anything like this happened where you live? Tell us below.",
    "How does this compare with your own experience? Replies go into Monday's digest.",
)

# Display names; the member ids are derived from the position.
NAMES = (
    "Ana Ribeiro", "ben.k", "Chloé M", "dmitri_v", "Efua Mensah", "Farid H.", "Grace O'Neill",
    "Quentin Marchal", "Hiro T", "Ines", "Jonas B.", "Kasia W", "Wiebke Hansen", "Lars", "Maya R",
    "Nnamdi", "Olga P", "Priya S", "Sam (he/him)", "Tomás", "Uma", "Viktor", "Wen Li", "Gosia Nowak",
    "Xavier D", "Yara", "Zoe K", "Aiko", "Bram", "Carmen", "Sione Tuilagi", "Dev", "Elif", "Finn",
    "Hamid", "Isla", "Jae", "Kofi", "Leila", "Marek", "Noor", "Oskar", "Pilar", "Rafa", "Tess",
    "Vikram", "Yusuf", "Anouk", "Ulla Lindqvist", "Bilal", "Cora", "Diego", "Zanele Dlamini", "Emeka",
    "Freya", "Gita", "Hugo", "Ingrid", "Jonah", "Kemal",
)
# fmt: on
OPTED_OUT = (7, 23, 48)  # positions in NAMES; 48 joins this week
ANONYMOUS = (12, 30, 52)  # 52 joins this week
REGULARS = 45  # members before this position wrote before the week; the rest are new

LOW_VALUE = ("+1", "this", "same", "This.", "so true", "Same here", "👍", "🔥", "💯", "😂", "agreed!", "yes")
LINKS = (
    "https://example.org/reports/2026/commute-survey.pdf",
    "https://example.net/blog/what-we-learned",
    "www.example.com/story?id=8812",
)
OPENERS = (
    "",
    "",
    "",
    "Honestly? ",
    "For what it's worth: ",
    "Same story here. ",
    "Oh, this hits home. ",
    "Hmm. ",
)
CLOSERS = ("", "", "", " Curious what others think.", " Just my two cents.", " Anyone else?")
ECHOES = ("Exactly this: ", "Agree! ", "")  # what a near-duplicate puts before the words it copies

HOSTILE = (
    "@everyone you need to read this thread right now",
    "@here quick poll: who actually reads these articles?",
    "Thanks <@123456789012345678> for sharing, and <@&1> please pin it",
    "<!channel> <!here> our union meets Thursday to talk about exactly this",
    "<script>alert('digest')</script> seriously though, the survey is biased",
    "[click for the full report](javascript:alert(document.cookie)) the numbers are worse than reported",
    "My comment \u202etxet desrever\u202c, a bell\u0007 and an escape\u001b char, sorry, weird keyboard",
    "**Important**: __read__ the `fine print` > before | you # sign anything ~~really~~",
    "<@!987654321098765432> and <#555> and <img src=x onerror=alert(1)> all in one reply",
)
HIDDEN = (
    "Earn 500 a day from home!!! DM me for the link, limited spots",
    "Check out my crypto channel for guaranteed returns, link in bio",
    "This whole thread is garbage and so are all of you",
)
DELETED = (
    "Oops, wrong thread, meant to post this under the bike lane article",
    "Double post, sorry, my connection dropped",
    "FIRST!!! nobody beat me to it",
)
# What an edited reply said before its author fixed it; never shown again.
BEFORE_EDIT = (
    "Teh commute was the wrost part, typo city sorry will fix",
    "Posting from my phone, half a thought, will finish later",
)
EMOJI = ("👍", "❤️", "😂", "🔥", "🎉", "👀", "💯", "🙏")

# How the week's replies behave, as shares of all replies.
LOW_VALUE_SHARE = 0.10
LINK_SHARE = 0.02
ECHO_SHARE = 0.05
LATE_SHARE = 0.06  # on articles posted before the week
DELETED_SHARE = 0.02
EDITED_SHARE = 0.03
HIDDEN_SHARE = 0.01
SILENT_ARTICLES = 4  # articles of the week nobody answers
LONG_REPLY = 5000
OLDER_ARTICLES = 8  # posted the week before, discussed then; some still now
MESSAGE_ID_BASE = 1_300_000_000_000_000_000  # snowflake-like, so ids look like a platform's


# -- the plan ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    name: str
    opted_out: bool = False
    anonymous: bool = False
    regular: bool = True  # wrote before the week


@dataclass(frozen=True, slots=True)
class PlannedReply:
    message_id: str
    author: Member
    written: str  # the words first posted
    created_at: datetime
    edited: str | None = None  # the words after an edit (they replace `written`)
    edited_at: datetime | None = None
    deleted: bool = False
    hidden: bool = False
    featured: bool = False
    reactions: tuple[tuple[str, str], ...] = ()  # (member id, emoji)

    @property
    def text(self) -> str:
        """What the store holds once the week is written."""
        return self.edited if self.edited is not None else self.written


@dataclass(frozen=True, slots=True)
class PlannedArticle:
    key: str
    draft: ArticleDraft
    posted_at: datetime
    prompt: str
    message_id: str
    replies: tuple[PlannedReply, ...]
    unstored_replies: int = 0  # written by opted-out members after opting out: only counted


@dataclass(frozen=True, slots=True)
class Week:
    start: datetime
    end: datetime
    members: tuple[Member, ...]
    articles: tuple[PlannedArticle, ...]  # the week before's first, then the week's, by time posted

    @property
    def replies(self) -> list[tuple[PlannedArticle, PlannedReply]]:
        return [(a, r) for a in self.articles for r in a.replies]


class _Ids:
    def __init__(self) -> None:
        self._next = MESSAGE_ID_BASE

    def __call__(self) -> str:
        self._next += 1
        return str(self._next)


def _members() -> tuple[Member, ...]:
    return tuple(
        Member(
            user_id=f"{MESSAGE_ID_BASE // 1000 + i}",
            name=name,
            opted_out=i in OPTED_OUT,
            anonymous=i in ANONYMOUS,
            regular=i < REGULARS,
        )
        for i, name in enumerate(NAMES)
    )


def _substantive(rng: random.Random, sentences: tuple[str, ...]) -> str:
    """One to four of a topic's sentences; now and then a long paragraph of six."""
    size = 6 if rng.random() < 0.08 else rng.choice((1, 1, 2, 2, 3, 4))
    body = " ".join(rng.sample(sentences, min(size, len(sentences))))
    return f"{rng.choice(OPENERS)}{body}{rng.choice(CLOSERS)}"


def _long_reply(sentences: tuple[str, ...]) -> str:
    """A rant of exactly LONG_REPLY characters (members do write these)."""
    text = ""
    i = 0
    while len(text) < LONG_REPLY:
        text += sentences[i % len(sentences)] + (" " if i % 5 else "\n\n")
        i += 1
    return text[:LONG_REPLY]


def _text(rng: random.Random, sentences: tuple[str, ...], earlier: list[str]) -> str:
    roll = rng.random()
    if roll < LOW_VALUE_SHARE:
        return rng.choice(LOW_VALUE)
    roll -= LOW_VALUE_SHARE
    if roll < LINK_SHARE:
        return rng.choice(LINKS)
    roll -= LINK_SHARE
    echoable = [text for text in earlier if len(text) < 600]
    if roll < ECHO_SHARE and echoable:
        copied = rng.choice(echoable)
        return rng.choice(ECHOES) + (copied[:-1] + "!" if copied.endswith(".") else copied + " 100%")
    return _substantive(rng, sentences)


def _reactions(
    rng: random.Random, members: tuple[Member, ...], author: Member, text: str
) -> tuple[tuple[str, str], ...]:
    # Opted-out members' reactions are not kept (the collector drops them).
    others = [m for m in members if m is not author and not m.opted_out]
    weight = 0.5 if len(text) < 25 else 1.5 + len(text) / 200
    n = min(len(others), int(rng.expovariate(1 / weight)))
    return tuple((m.user_id, rng.choice(EMOJI)) for m in rng.sample(others, n))


def _reply_times(rng: random.Random, posted: datetime, n: int, until: datetime) -> list[datetime]:
    """Most replies in the first hours, a tail over the following days; all before `until`."""
    room = (until - posted).total_seconds() - 180
    delays = [rng.expovariate(1 / 36_000) for _ in range(n)]
    # A reply the period has no room for was written some time earlier instead.
    times = [posted + timedelta(seconds=120 + (d if d < room else rng.uniform(0, room))) for d in delays]
    return sorted(t.replace(microsecond=0) for t in times)


def plan_week(end: datetime, *, articles: int = 32, replies: int = 520, seed: int = 1) -> Week:
    """The week ending at `end`: `articles` posted in it, `replies` written in it
    (late ones on the week before's articles included), all drawn from `seed`."""
    rng = random.Random(seed)
    start = end - timedelta(days=7)
    members = _members()
    writers = list(members)  # anyone may write this week; only regulars wrote before
    regulars = [m for m in members if m.regular]
    # A few members write most replies, as in any community.
    weights = [1 / (i + 1) ** 0.6 for i in range(len(writers))]
    rng.shuffle(weights)
    # Members who opt out are rarely the most talkative ones.
    weights = [min(w, 0.15) if m.opted_out else w for w, m in zip(weights, writers, strict=True)]
    message_id = _Ids()
    catalogue = [(topic, title, summary) for topic in TOPICS for title, summary in topic[1]]
    rng.shuffle(catalogue)
    # Feeds carry markup and pings in titles too: one of the week's articles does.
    catalogue.insert(OLDER_ARTICLES + rng.randrange(articles), (TOPICS[6], *HOSTILE_ARTICLE))
    total = articles + OLDER_ARTICLES

    def article(i: int, posted: datetime) -> tuple[ArticleDraft, str, Topic]:
        topic, title, summary = catalogue[i % len(catalogue)]
        round_ = i // len(catalogue)
        title = title if round_ == 0 else f"{title} (update {round_})"
        slug = "-".join(w for w in title.lower().replace(",", "").split()[:8] if w.isalnum())
        url = f"https://news.example.org/{posted:%Y/%m/%d}/{slug}-{i}"
        draft = ArticleDraft(title, url, summary, rng.choice(SOURCES), published_at=posted, guid=url)
        return draft, rng.choice(PROMPTS).replace("{title}", title), topic

    # When each article goes up: the older ones during the week before, the
    # week's spread over its seven days.
    older = sorted(start - timedelta(days=6, hours=-rng.uniform(0, 120)) for _ in range(OLDER_ARTICLES))
    step = timedelta(days=7) / articles
    jitter = min(timedelta(minutes=90), step * 0.4)
    fresh = [start + step * (i + 0.5) + jitter * rng.uniform(-1, 1) for i in range(articles)]
    times = [t.replace(microsecond=0) for t in (*older, *fresh)]

    # How many of the week's replies each article gets: a few busy ones, a long
    # tail, and some silent.
    late = round(replies * LATE_SHARE)
    silent = set(rng.sample(range(OLDER_ARTICLES, total), min(SILENT_ARTICLES, articles)))
    share = [0.0 if i in silent or i < OLDER_ARTICLES else rng.paretovariate(1.3) for i in range(total)]
    counts = [int((replies - late) * s / sum(share)) for s in share]
    counts[max(range(total), key=lambda i: share[i])] += replies - late - sum(counts)
    for _ in range(late):  # on half of the week before's articles
        counts[rng.randrange(OLDER_ARTICLES // 2)] += 1

    # Each hostile text is written once, at a random moment of the week.
    hostile = dict(zip(rng.sample(range(replies), len(HOSTILE)), HOSTILE, strict=True))
    serial = 0  # the week's replies so far
    planned: list[PlannedArticle] = []
    long_written = False
    for i in range(total):
        draft, prompt, topic = article(i, times[i])
        sentences = topic[2]
        written: list[PlannedReply] = []
        earlier: list[str] = []
        if i < OLDER_ARTICLES:  # what the regulars said about it the week before
            before = rng.sample(regulars, rng.randint(12, 30))
            moments = _reply_times(rng, times[i], len(before), start)
            for member, when in zip(before, moments, strict=True):
                text = _substantive(rng, sentences)
                earlier.append(text)
                written.append(
                    PlannedReply(
                        message_id(), member, text, when, reactions=_reactions(rng, members, member, text)
                    )
                )
            moments = sorted(start + (end - start) * rng.random() for _ in range(counts[i]))
        else:
            moments = _reply_times(rng, times[i], counts[i], end)
        for when in moments:
            member = rng.choices(writers, weights)[0]
            text = hostile.get(serial) or _text(rng, sentences, earlier)
            serial += 1
            if not long_written and counts[i] > 20:
                text, long_written = _long_reply(sentences), True
            earlier.append(text)
            reply = PlannedReply(
                message_id(), member, text, when.replace(microsecond=0),
                reactions=_reactions(rng, members, member, text),
            )  # fmt: skip
            roll = rng.random()
            if roll < DELETED_SHARE:
                reply = replace(reply, written=rng.choice(DELETED), deleted=True, reactions=())
            elif roll < DELETED_SHARE + EDITED_SHARE:
                fixed = when + timedelta(minutes=rng.randint(2, 90))
                reply = replace(reply, written=rng.choice(BEFORE_EDIT), edited=text, edited_at=fixed)
            elif roll < DELETED_SHARE + EDITED_SHARE + HIDDEN_SHARE:
                reply = replace(reply, written=rng.choice(HIDDEN), hidden=True)
            written.append(reply)
        written = _feature(rng, written)
        unstored = rng.randint(1, 3) if len(written) > 30 else 0
        planned.append(PlannedArticle(draft.guid or draft.title, draft, times[i], prompt, message_id(),
                                      tuple(written), unstored))  # fmt: skip
    return Week(start, end, members, tuple(planned))


def _feature(rng: random.Random, replies: list[PlannedReply]) -> list[PlannedReply]:
    """Moderators feature one or two good replies of a busy discussion (now and then a hostile one:
    featured text is quoted first, so it must be made safe too)."""
    if len(replies) < 12:
        return replies
    candidates = [
        i
        for i, r in enumerate(replies)
        if not (r.deleted or r.hidden) and (80 < len(r.text) < LONG_REPLY or r.text in HOSTILE)
    ]
    chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2))))
    return [replace(r, featured=True) if i in chosen else r for i, r in enumerate(replies)]


# -- writing it --------------------------------------------------------------------------------------


async def populate_week(
    store: Store,
    community: Community,
    channel_id: str,
    *,
    end: datetime,
    articles: int = 32,
    replies: int = 520,
    seed: int = 1,
) -> None:
    """Fill `store` with the week `plan_week` draws, as if threadcast had run through it."""
    week = plan_week(end, articles=articles, replies=replies, seed=seed)
    for planned in week.articles:
        stored = await store.save_article(
            planned.key, planned.draft, planned.posted_at - timedelta(minutes=1)
        )
        discussion = await store.begin_discussion(
            stored.id, community, channel_id, prompt=planned.prompt, feed_id=None,
            now=planned.posted_at - timedelta(seconds=5),
        )  # fmt: skip
        if discussion is None:
            raise ValueError(f"{channel_id} has a discussion of {planned.draft.title!r} already")
        await store.confirm_discussion(
            discussion.id, planned.message_id, planned.message_id, planned.posted_at
        )
        for reply in planned.replies:
            await store.add_reply(
                discussion.id,
                message_id=reply.message_id,
                author_id=reply.author.user_id,
                author_name=reply.author.name,
                text=reply.written,
                created_at=reply.created_at,
            )
            for user_id, emoji in reply.reactions:
                await store.set_reaction(community, reply.message_id, user_id, emoji, True)
            if reply.edited is not None and reply.edited_at is not None:
                await store.edit_reply(community, reply.message_id, reply.edited, reply.edited_at)
            if reply.featured or reply.hidden:
                await store.set_reply_flags(
                    community, reply.message_id, featured=reply.featured or None, hidden=reply.hidden or None
                )
            if reply.deleted:
                await store.delete_reply(community, reply.message_id)
        for _ in range(planned.unstored_replies):
            await store.count_anonymous_reply(discussion.id)
    # Set last: opted-out members' earlier replies stay stored, and must leave every output.
    for member in week.members:
        if member.opted_out or member.anonymous:
            await store.set_prefs(
                MemberPrefs(
                    community.platform, member.user_id, opted_out=member.opted_out, anonymous=member.anonymous
                )
            )
