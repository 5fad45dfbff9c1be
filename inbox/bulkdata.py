"""A large, realistic data set for trying the inbox at scale (``flask --app app demo --tickets N``).

Why its own writer instead of the models: a million tickets through the ORM take hours; here every
table is written in chunks (one transaction per chunk of tickets and everything hanging off them)
with the driver's fastest bulk path — ``executemany`` of plain tuples on SQLite, ``COPY`` on
PostgreSQL — and ids are assigned here, so no row needs a round trip to learn its key.

What it makes: about 50 channels over every provider and several networks, with Zipf-skewed
activity (a few channels get most tickets); 20 users in 3 teams (agents, supervisors, one admin;
one password, hashed once); 30 tags; a 3-level category tree; repeat customers; conversations of
several messages both ways in Persian (with ي/ك variants and ZWNJ), Russian (with ё), English and
emoji; notes with @mentions, replies with their outbound action in sent / failed / unknown,
suggestions pending / approved / rejected, mail; a year of activity skewed to recent days; mostly
archived tickets, some open, pending and snoozed.

The channels cause no background calls: their setup is marked done (``webhook_registered_at``)
so the sweep does not set them up, and the channels of polled providers (Resont, SocialWall,
SocialPosts) are ``disabled``, the one status ``workers.poll.polled_channel_ids`` skips.
Getloo and custom channels stay ``active`` (webhook-only: nothing polls them). Outbound actions
are never left ``queued`` or ``sending`` (the sweep would resume them), and pending suggestions
are marked as already notified (the overdue job would notify approvers about a year-old backlog).

Derived data: the ``ticket_count`` and ``ticket_mention`` triggers are dropped during the load and
the counts and the mentioned tickets rebuilt from the tickets and notes after — measured at 50,000 tickets: writing the tickets took 2.1–2.7 s against
6.8–7.7 s with the triggers firing on SQLite, 2.4 s against 4.3 s on PostgreSQL, and the rebuild
0.1–0.3 s — then the search index is rebuilt (``inbox.search.index.rebuild_all``), and ANALYZE
runs. ``ticket.has_failed_send`` is written with each ticket (the state of its one reply's action
is known here); outbound_action's triggers stay, fire only for the few failed or unknown actions
and find the flag already set.
"""
from __future__ import annotations

import bisect
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, text
from werkzeug.security import generate_password_hash

from models.folder import install_triggers, rebuild_counts, DROP_POSTGRES, DROP_SQLITE
from models.mention import DROP_POSTGRES_MENTION, DROP_SQLITE_MENTION, REFILL_MENTIONS

PASSWORD = "bulk-demo-pass"
CHUNK = 10_000          # tickets per transaction (their messages, followups ... in the same one)

PROVIDERS = {   # provider: (channel count, networks, kinds it produces)
    "getloo": (14, ["instagram", "facebook", "telegram", "whatsapp"], ["comment", "conversation"]),
    "resont": (12, ["instagram", "facebook", "twitter", "linkedin"], ["comment", "conversation", "post_failure"]),
    "socialwall": (8, ["vk", "facebook", "instagram"], ["comment", "wall_post"]),
    "socialposts": (7, ["twitter", "youtube", "vk"], ["comment", "post_failure"]),
    "custom": (9, ["telegram", "email", "webchat"], ["ticket", "conversation"]),
}
POLLED = {"resont", "socialwall", "socialposts"}
TEAMS = ["Support", "Sales", "Social"]
TAGS = ["refund", "delivery", "complaint", "question", "vip", "spam", "bug", "praise", "urgent", "order",
        "payment", "return", "warranty", "price", "stock", "size", "shipping", "discount", "account", "login",
        "app", "store", "partner", "press", "job", "feedback", "lead", "follow-up", "escalated", "legal"]
CATEGORY_TREE = {
    "Orders": {"Delivery": ["Late", "Lost", "Damaged"], "Payment": ["Card", "Refund", "Invoice"],
               "Changes": ["Address", "Cancel", "Items"]},
    "Products": {"Quality": ["Defect", "Size", "Colour"], "Availability": ["Stock", "Preorder", "Region"],
                 "Pricing": ["Discount", "Price match", "Tax"]},
    "Account": {"Access": ["Password", "2FA", "Locked"], "Profile": ["Email", "Phone", "Delete"],
                "Loyalty": ["Points", "Tier", "Coupons"]},
    "Marketing": {"Campaigns": ["Giveaway", "Influencer", "Ads"], "Feedback": ["Praise", "Idea", "Survey"],
                  "Press": ["Interview", "Review", "Partnership"]},
    "Other": {"Spam": ["Bots", "Scam", "Ads spam"], "Jobs": ["Application", "Internship", "Freelance"],
              "Misc": ["Greeting", "Off-topic", "Unclear"]},
}

# Words the benchmark searches for: common ones (in many tickets) and rare ones (in ~1 of 10,000).
COMMON_WORDS = {"fa": "سفارش", "ru": "доставка", "en": "refund"}
RARE_WORDS = {"fa": "زعفران", "ru": "самовар", "en": "kaleidoscope"}
RARE_RATE = 0.0001

# Persian: Arabic-keyboard variants ي/ك beside ی/ک, and ZWNJ (\u200c) inside words like می‌خواهم.
FA = {
    "product": ["کفش", "کيف", "گوشی", "لپ\u200cتاپ", "ساعت", "پیراهن", "كتاب", "عطر", "هدفون", "کاپشن"],
    "city": ["تهران", "شیراز", "اصفهان", "مشهد", "تبریز", "کرج", "رشت"],
    "templates": [
        "سلام، {product} من هنوز نرسیده. سفارش {n} کی ارسال می\u200cشود؟",
        "سلام وقت بخیر، می\u200cخواستم بپرسم {product} موجود است؟",
        "سفارش {n} را لغو کنید لطفا",
        "ارسال به {city} چند روز طول می\u200cکشد؟",
        "{product} خراب به دستم رسید، لطفا پیگیری کنید 😡",
        "خیلی ممنون از پشتیبانی خوبتان 🙏",
        "قیمت {product} چند است؟",
        "چرا جواب نمی\u200cدهید؟ سه روز است منتظرم",
        "كد تخفيف كار نمي\u200cكند",
        "ميخواهم {product} را مرجوع کنم، هزینه ارسال با کیست؟",
        "آدرس ارسال سفارش {n} را عوض کنید: {city}",
        "عالی بود، {product} دقیقا همان بود که می\u200cخواستم ❤️",
        "پرداخت انجام شد ولی سفارش ثبت نشد",
        "شماره پیگیری مرسوله {n} را بفرستید",
        "آیا {product} گارانتی دارد؟",
        "ارسال رایگان به {city} دارید؟",
        "سلام، رمز عبورم را فراموش کرده\u200cام",
        "این پیج فیک است؟ 🤔",
        "کی دوباره {product} می\u200cآورید؟",
        "سفارشم ناقص رسید، {product} داخل بسته نبود",
    ],
    "replies": ["سلام، سفارش شما ارسال شده و تا دو روز دیگر می\u200cرسد 🙏",
                "با پوزش، پیگیری کردیم و همکاران ما با شما تماس می\u200cگیرند",
                "ممنون از پیام شما، لطفا شماره سفارش را بفرستید",
                "بله، {product} موجود است"],
}
RU = {
    "product": ["кроссовки", "сумка", "телефон", "ноутбук", "часы", "платье", "книга", "наушники", "куртка", "ёлка"],
    "city": ["Москва", "Казань", "Новосибирск", "Екатеринбург", "Самара", "Пермь"],
    "templates": [
        "Здравствуйте! Где мой заказ {n}? доставка уже неделю",
        "Здравствуйте, {product} есть в наличии?",
        "Отмените, пожалуйста, заказ {n}",
        "Сколько идёт доставка в {city}?",
        "{product} пришли бракованные, что делать? 😡",
        "Спасибо большое за быструю помощь 🙏",
        "Какая цена на {product}?",
        "Почему вы не отвечаете? Жду уже три дня",
        "Промокод не работает",
        "Хочу вернуть {product}, кто платит за доставку?",
        "Измените адрес доставки заказа {n}: {city}",
        "Всё отлично, {product} именно то, что нужно ❤️",
        "Оплата прошла, а заказ не оформлен",
        "Пришлите трек-номер посылки {n}",
        "Есть ли гарантия на {product}?",
        "Бесплатная доставка в {city} есть?",
        "Здравствуйте, не могу войти в аккаунт",
        "Это официальная страница? 🤔",
        "Когда снова будут {product}?",
        "Заказ пришёл неполный, не хватает: {product}",
    ],
    "replies": ["Здравствуйте! Ваш заказ отправлен, доставка займёт два дня 🙏",
                "Приносим извинения, мы передали вопрос коллегам",
                "Спасибо за сообщение, пришлите, пожалуйста, номер заказа",
                "Да, {product} в наличии"],
}
EN = {
    "product": ["sneakers", "bag", "phone", "laptop", "watch", "dress", "book", "headphones", "jacket", "charger"],
    "city": ["London", "Berlin", "Toronto", "Dubai", "Istanbul", "Paris"],
    "templates": [
        "Hi, where is my order {n}? It's been a week",
        "Do you have the {product} in stock?",
        "Please cancel order {n}",
        "How long does shipping to {city} take?",
        "My {product} arrived broken, I want a refund 😡",
        "Thanks a lot for the quick help 🙏",
        "How much is the {product}?",
        "Why is nobody answering? Waiting for three days",
        "The discount code does not work",
        "I want to return the {product}, who pays the shipping?",
        "Please change the address of order {n} to {city}",
        "Love it, the {product} is exactly what I wanted ❤️",
        "Payment went through but no order was created",
        "Send me the tracking number for {n} please",
        "Is there a warranty on the {product}?",
        "Free delivery to {city}?",
        "Hello, I forgot my password",
        "Is this the official page? 🤔",
        "When will the {product} be back?",
        "Still waiting for my refund for order {n}",
    ],
    "replies": ["Hi! Your order has shipped and should arrive in two days 🙏",
                "Sorry about that, a colleague will contact you",
                "Thanks for your message, could you send us the order number?",
                "Yes, the {product} is in stock"],
}
LANGS = (("fa", FA, 0.45), ("ru", RU, 0.30), ("en", EN, 0.25))
FIRST = {"fa": ["علی", "زهرا", "رضا", "مریم", "حسین", "فاطمه", "سارا", "امیر"],
         "ru": ["Алёна", "Дмитрий", "Ольга", "Сергей", "Наталья", "Пётр", "Мария", "Иван"],
         "en": ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan"]}


def _sentences(lang: dict, n: int, rng: random.Random) -> list[str]:
    """A pool of distinct sentences from the templates and their slot words (hundreds per language)."""
    out, tries = set(), 0
    while len(out) < n and tries < 50 * n:     # fewer when the templates cannot make n
        tries += 1
        out.add(rng.choice(lang["templates"]).format(product=rng.choice(lang["product"]),
                                                      city=rng.choice(lang["city"]), n=rng.randint(10000, 99999)))
    return sorted(out)


def _dt(value: datetime) -> str:
    """The stored form of a naive UTC time (what SQLAlchemy writes on SQLite; PostgreSQL parses it)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (rank ** s) for rank in range(1, n + 1)]


class _Picker:
    """Weighted choice by bisect over cumulative weights (``random.choices`` rebuilds them per call)."""

    def __init__(self, items, weights, rng: random.Random):
        self.items, self.rng = list(items), rng
        self.cum = list(itertools.accumulate(weights))

    def __call__(self):
        return self.items[bisect.bisect(self.cum, self.rng.random() * self.cum[-1])]


@dataclass
class Report:
    """What was written: rows and seconds per table, and the logins."""
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    total_seconds: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, rows: int, seconds: float) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.seconds[table] = self.seconds.get(table, 0.0) + seconds


class RefuseError(RuntimeError):
    pass


class _Writer:
    """Bulk rows into one table: executemany on SQLite, COPY on PostgreSQL, timed per table."""

    def __init__(self, conn, report: Report):
        self.conn, self.report = conn, report
        self.pg = conn.dialect.name == "postgresql"

    def __call__(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        start = time.perf_counter()
        quoted = ", ".join(f'"{c}"' for c in columns)
        if self.pg:
            cursor = self.conn.connection.driver_connection.cursor()
            with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            self.conn.connection.driver_connection.executemany(
                f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', rows)
        self.report.add(table, len(rows), time.perf_counter() - start)


def _max_id(conn, table: str) -> int:
    return conn.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"')).scalar()


def generate(engine: Engine, tickets: int, *, seed: int = 1, keep_triggers: bool = False,
             echo=print) -> Report:
    """Write ``tickets`` tickets and everything around them into an empty inbox database.

    Refuses (RefuseError) when the database already holds tickets: the set is meant to be loaded
    once into a fresh database, and mixing it with real data would make both hard to read.
    ``keep_triggers`` lets the ticket_count triggers fire per row instead (only to measure).
    """
    rng = random.Random(seed)
    report = Report()
    started = time.perf_counter()
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM ticket")).scalar():
            raise RefuseError("this database already has tickets; load the bulk data set into an empty one "
                              "(a fresh DATABASE_URL, then `flask --app app db upgrade`)")
        if not pg:
            conn.exec_driver_sql("PRAGMA cache_size=-200000")    # 200 MB for this connection's load
        write = _Writer(conn, report)
        world = _setup(conn, write, rng, now, report, people_per_channel=min(2000, max(20, tickets // 100)))
        if not keep_triggers:
            for statement in (DROP_POSTGRES + DROP_POSTGRES_MENTION if pg else DROP_SQLITE + DROP_SQLITE_MENTION):
                conn.exec_driver_sql(statement)
    ids = {t: 0 for t in ("interactor", "message", "followup", "outbound_action")}
    with engine.begin() as conn:
        for table in ids:
            ids[table] = _max_id(conn, table)
    pools = {code: _sentences(lang, 300, rng) for code, lang, _w in LANGS}
    reply_pools = {code: _sentences({**lang, "templates": lang["replies"]}, 40, rng) for code, lang, _w in LANGS}
    lang_pick = _Picker([c for c, _l, _w in LANGS], [w for _c, _l, w in LANGS], rng)
    done = 0
    last_echo = time.perf_counter()
    while done < tickets:
        n = min(CHUNK, tickets - done)
        with engine.begin() as conn:
            _chunk(_Writer(conn, report), world, ids, done, n, rng, now, pools, reply_pools, lang_pick)
        done += n
        if time.perf_counter() - last_echo > 5 or done == tickets:
            last_echo = time.perf_counter()
            elapsed = last_echo - started
            rates = ", ".join(f"{t} {report.rows[t] / max(report.seconds[t], 1e-9):,.0f}/s"
                              for t in ("ticket", "message", "followup") if t in report.rows)
            echo(f"  {done:>9,} tickets in {elapsed:6.1f} s ({done / elapsed:,.0f} tickets/s overall; writes: {rates})")
    with engine.begin() as conn:
        if pg:
            for table in ("channel", "user", "team", "tag", "category", "interactor", "ticket", "message",
                          "followup", "outbound_action", "post"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)")
        start = time.perf_counter()
        if not keep_triggers:
            rebuild_counts(conn)
            for statement in REFILL_MENTIONS:
                conn.exec_driver_sql(statement)
            install_triggers(conn)
        report.extra["ticket_count rebuild"] = time.perf_counter() - start
    from inbox.search.index import rebuild_all

    start = time.perf_counter()
    with engine.begin() as conn:
        rebuild_all(conn)
    report.extra["search index"] = time.perf_counter() - start
    start = time.perf_counter()
    if pg:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    report.extra["ANALYZE"] = time.perf_counter() - start
    report.total_seconds = time.perf_counter() - started
    return report


@dataclass
class _World:
    channels: list[tuple[int, str, str, list[str]]]   # id, provider, network, kinds
    channel_pick: _Picker
    channel_team: dict[int, int | None]
    team_agents: dict[int, list[int]]
    agents: list[int]
    users: list[int]
    approvers: list[int]
    tag_pick: _Picker
    leaves: list[int]
    interactors: dict[int, tuple[int, int]]      # channel id -> (first interactor id, how many)
    names: dict[int, str]                        # interactor id -> language of that person
    posts: dict[int, list[str]]


def _setup(conn, write: _Writer, rng: random.Random, now: datetime, report: Report, *,
           people_per_channel: int) -> _World:
    """Users, teams, channels, tags, categories, posts: the small tables."""
    ts = _dt(now - timedelta(days=400))
    password_hash = generate_password_hash(PASSWORD)     # once: hashing is slow on purpose
    user_id = _max_id(conn, "user")
    users, roles = [], []
    people = [("admin", "admin", "Ada Admin")] + [
        (f"supervisor{i}", "supervisor", f"Supervisor {TEAMS[i - 1]}") for i in range(1, 4)] + [
        (f"agent{i:02d}", "agent", f"Agent {i:02d}") for i in range(1, 17)]
    rows = []
    for login, role, name in people:
        user_id += 1
        email = f"{login}@bulk.test"
        users.append(user_id)
        roles.append(role)
        rows.append((user_id, email, name, role, password_hash, True, 0, "UTC", False, "{}", ts, ts))
        report.logins.append((email, role))
    write("user", ("id", "email", "name", "role", "password_hash", "active", "session_version", "time_zone",
                   "reply_requires_approval", "permission_overrides", "created_at", "updated_at"), rows)
    team_id = _max_id(conn, "team")
    teams = []
    for name in TEAMS:
        team_id += 1
        teams.append(team_id)
    write("team", ("id", "name", "created_at", "updated_at"),
          [(t, f"{name} (bulk)", ts, ts) for t, name in zip(teams, TEAMS)])
    agents = users[4:]
    team_agents = {t: agents[i::3] for i, t in enumerate(teams)}
    members = [(t, users[1 + i]) for i, t in enumerate(teams)] + [(t, a) for t, a_list in team_agents.items()
                                                                    for a in a_list]
    write("team_member", ("team_id", "user_id"), members)

    channel_id = _max_id(conn, "channel")
    channels, rows, team_rows = [], [], []
    channel_team: dict[int, int | None] = {}
    for provider, (count, networks, kinds) in PROVIDERS.items():
        for i in range(count):
            channel_id += 1
            network = networks[i % len(networks)]
            channels.append((channel_id, provider, network, kinds))
            status = "disabled" if provider in POLLED else "active"
            rows.append((channel_id, provider, network, f"{provider} {network} {i + 1} (bulk)",
                         f"http://bulk.invalid/{provider}", "", "{}", f"bulk-{provider}-{i + 1}", '{"bulk": true}',
                         f"bulk{channel_id:06d}", "", status, ts, "{}", ts, ts))
            team = teams[channel_id % 4] if channel_id % 4 < 3 else None    # a quarter shared by everyone
            channel_team[channel_id] = team
            if team:
                team_rows.append((team, channel_id))
    write("channel", ("id", "provider", "network", "name", "base_url", "credentials_encrypted", "settings",
                      "account_ref", "info", "webhook_token", "webhook_url", "status", "webhook_registered_at",
                      "sync_state", "created_at", "updated_at"), rows)
    write("team_channel", ("team_id", "channel_id"), team_rows)
    order = list(range(len(channels)))
    rng.shuffle(order)       # the busiest channels are spread over providers
    channel_pick = _Picker([channels[i][0] for i in order], _zipf_weights(len(channels)), rng)

    tag_id = _max_id(conn, "tag")
    tags = list(range(tag_id + 1, tag_id + 1 + len(TAGS)))
    write("tag", ("id", "name", "color", "data"),
          [(t, f"{name}", f"#{rng.randrange(0x1000000):06x}", "{}") for t, name in zip(tags, TAGS)])
    category_id = _max_id(conn, "category")
    rows, leaves = [], []
    for p1, (root, middle) in enumerate(CATEGORY_TREE.items()):
        category_id += 1
        root_id = category_id
        rows.append((root_id, None, f"{root} (bulk)", p1, "", False))
        for p2, (name, names) in enumerate(middle.items()):
            category_id += 1
            mid_id = category_id
            rows.append((mid_id, root_id, name, p2, "", False))
            for p3, leaf in enumerate(names):
                category_id += 1
                rows.append((category_id, mid_id, leaf, p3, "", False))
                leaves.append(category_id)
    write("category", ("id", "parent_id", "name", "position", "description", "hidden"), rows)

    post_id = _max_id(conn, "post")
    posts: dict[int, list[str]] = {}
    rows = []
    for cid, provider, network, _kinds in channels:
        posts[cid] = []
        for i in range(10):
            post_id += 1
            ext = f"bulk-post-{cid}-{i}"
            posts[cid].append(ext)
            at = _dt(now - timedelta(days=36 * i + rng.random()))
            rows.append((post_id, cid, ext, network, rng.choice(["New collection 🔥", "Скидки недели",
                                                                 "حراج پاییزه 🍂"]), "published",
                         f"https://{network}.example/p/{ext}", at, "{}", at, at))
    write("post", ("id", "channel_id", "external_id", "network", "text", "status", "url", "executed_at", "data",
                   "created_at", "updated_at"), rows)

    # Repeat customers: each channel has a pool of people, a few of whom write again and again.
    interactor_id = _max_id(conn, "interactor")
    interactors, names, rows = {}, {}, []
    for cid, _provider, _network, _kinds in channels:
        count = people_per_channel
        interactors[cid] = (interactor_id + 1, count)
        for i in range(count):
            interactor_id += 1
            lang = ("fa", "ru", "en")[i % 3]
            names[interactor_id] = lang
            rows.append((interactor_id, cid, f"bulk-u{cid}-{i}", f"user_{cid}_{i}",
                         f"{rng.choice(FIRST[lang])} {i}", ts, ts))
    write("interactor", ("id", "channel_id", "external_id", "username", "name", "created_at", "updated_at"), rows)
    approvers = users[:4]
    return _World(channels=channels, channel_pick=channel_pick, channel_team=channel_team, team_agents=team_agents,
                  agents=agents, users=users, approvers=approvers,
                  tag_pick=_Picker(tags, _zipf_weights(len(tags), 1.0), rng), leaves=leaves,
                  interactors=interactors, names=names, posts=posts)


TICKET_COLS = ("id", "channel_id", "kind", "status", "network", "external_id", "interactor_id", "post_external_id",
               "text", "assignee_id", "team_id", "priority", "sentiment", "snoozed_until", "last_activity_at",
               "version", "data", "has_pending_suggestion", "approval_required", "has_failed_send", "created_at",
               "updated_at")
MESSAGE_COLS = ("id", "ticket_id", "channel_id", "external_id", "direction", "kind", "text", "interactor_id",
                "created_at", "received_at", "data")
FOLLOWUP_COLS = ("id", "ticket_id", "type", "status", "text", "author_id", "approved_by_id", "error", "status_at",
                 "decided_by_id", "decided_at", "decision_reason", "original_text", "overdue_notified_at", "request",
                 "created_at", "updated_at")
ACTION_COLS = ("id", "channel_id", "ticket_id", "followup_id", "kind", "state", "idempotency_key", "request",
               "response", "external_id", "attempts", "error_code", "error", "sent_at", "created_at", "updated_at")
SENTIMENT = _Picker(["positive", "neutral", "negative", None], [20, 40, 20, 20], random.Random(0))


def _chunk(write: _Writer, w: _World, ids: dict[str, int], offset: int, n: int, rng: random.Random,
           now: datetime, pools, reply_pools, lang_pick) -> None:
    tickets, messages, followups, actions, tag_rows, cat_rows, mentions = [], [], [], [], [], [], []
    channels = {c[0]: c for c in w.channels}
    rand = rng.random
    for i in range(n):
        tid = offset + i + 1    # ticket ids from 1: the table is empty when the load starts
        cid = w.channel_pick()
        _c, provider, network, kinds = channels[cid]
        kind = kinds[0] if rand() < 0.6 else rng.choice(kinds)
        first, count = w.interactors[cid]
        # Skewed customers too: the low numbers of each channel's pool write most.
        person = first + min(int(count * rand() ** 3), count - 1)
        lang = w.names[person] if rand() < 0.85 else lang_pick()
        # A year, skewed recent: most activity in the last weeks.
        age = timedelta(days=365 * rand() ** 2.5, seconds=rand() * 86400)
        last = now - age
        started = last - timedelta(hours=rand() * 48)
        if age < timedelta(days=3):
            status = "open" if rand() < 0.7 else ("pending" if rand() < 0.5 else "snoozed")
        elif age < timedelta(days=30):
            r = rand()
            status = "open" if r < 0.15 else "pending" if r < 0.2 else "snoozed" if r < 0.23 else "archived"
        else:
            status = "archived" if rand() < 0.98 else "open"
        snoozed = _dt(now + timedelta(hours=1 + rand() * 200)) if status == "snoozed" else None
        team = w.channel_team[cid]
        assignee = None
        if rand() < 0.45:
            assignee = rng.choice(w.team_agents[team]) if team else rng.choice(w.agents)
        handed = team if (team and rand() < 0.5) else None
        pool = pools[lang]
        texts = [pool[int(rand() * len(pool))] for _ in range(1 if kind in ("comment", "wall_post", "post_failure")
                                                              else 1 + int(rand() * 3))]
        if rand() < RARE_RATE:
            texts[-1] = f"{texts[-1]} {RARE_WORDS[lang]}"
        replies = kind in ("comment", "conversation", "ticket") and rand() < 0.35
        # The thread: inbound messages, with our replies between them in conversations.
        at = started
        for j, body in enumerate(texts):
            ids["message"] += 1
            messages.append((ids["message"], tid, cid, f"bm{tid}-{j}", "in", "comment" if kind == "comment" else "text",
                             body, person, _dt(at), _dt(at), "{}"))
            at += timedelta(minutes=1 + rand() * 90)
            if j < len(texts) - 1 and kind == "conversation":
                ids["message"] += 1
                messages.append((ids["message"], tid, cid, f"bm{tid}-o{j}", "out", "text",
                                 rng.choice(reply_pools[lang]), None, _dt(at), _dt(at), "{}"))
        version = 1 + len(texts)
        failed_send = False
        if replies:
            ids["followup"] += 1
            fid = ids["followup"]
            r = rand()
            state, fstatus = (("failed", "failed") if r < 0.01 else ("unknown", "unknown") if r < 0.015
                              else ("sent", rng.choice(["sent", "delivered", "read"])))
            author = assignee or rng.choice(w.agents)
            approved = rand() < 0.1          # a suggestion that was approved became this reply
            body = rng.choice(reply_pools[lang])
            error = "provider refused: 400 Bad Request" if state == "failed" else None
            failed_send = state in ("failed", "unknown")
            followups.append((fid, tid, "reply", fstatus, body, author, rng.choice(w.approvers) if approved else None,
                              error, _dt(last), rng.choice(w.approvers) if approved else None,
                              _dt(last) if approved else None, None, None, None, "{}", _dt(last), _dt(last)))
            ids["outbound_action"] += 1
            actions.append((ids["outbound_action"], cid, tid, fid, "reply", state, f"bulk-{ids['outbound_action']}",
                            json.dumps({"text": body}, ensure_ascii=False), "{}",
                            f"bq{ids['outbound_action']}" if state == "sent" else None, 1,
                            "http_400" if state == "failed" else None, error,
                            _dt(last) if state == "sent" else None, _dt(last), _dt(last)))
            version += 1
        pending = False
        r = rand()
        if r < 0.01 and status != "archived":   # a suggestion waiting for approval
            ids["followup"] += 1
            pending = True
            followups.append((ids["followup"], tid, "suggestion", "suggested", rng.choice(reply_pools[lang]),
                              rng.choice(w.agents), None, None, _dt(last), None, None, None, None,
                              _dt(last), "{}", _dt(last), _dt(last)))
        elif r < 0.02:                           # a rejected one
            ids["followup"] += 1
            followups.append((ids["followup"], tid, "suggestion", "rejected", rng.choice(reply_pools[lang]),
                              rng.choice(w.agents), None, None, _dt(last), rng.choice(w.approvers), _dt(last),
                              "Too informal; add the order number", None, None, "{}", _dt(last), _dt(last)))
        if rand() < 0.1:                         # a note, some @mentioning colleagues
            ids["followup"] += 1
            mentioned = rng.sample(w.users, 1 + int(rand() * 2)) if rand() < 0.4 else []
            names = " ".join(f"@agent{u - w.users[0] - 3:02d}" for u in mentioned if u in w.agents)
            followups.append((ids["followup"], tid, "note", "saved", f"{names} please check this one {lang}".strip(),
                              rng.choice(w.users), None, None, _dt(last), None, None, None, None, None, "{}",
                              _dt(last), _dt(last)))
            mentions.extend((ids["followup"], u) for u in mentioned)
        if rand() < 0.005:                       # forwarded by mail
            ids["followup"] += 1
            followups.append((ids["followup"], tid, "mail", "sent", "Forwarded to logistics@example.com",
                              rng.choice(w.users), None, None, _dt(last), None, None, None, None, None,
                              '{"to": "logistics@example.com"}', _dt(last), _dt(last)))
        if rand() < 0.5:
            tag_rows.extend((tid, t) for t in {w.tag_pick() for _ in range(1 + int(rand() * 2))})
        if rand() < 0.35:
            cat_rows.append((tid, w.leaves[int(rand() * len(w.leaves))]))
        post = rng.choice(w.posts[cid]) if kind == "comment" else None
        tickets.append((tid, cid, kind, status, network, f"bt{tid}", person, post, texts[-1], assignee, handed,
                        rand() < 0.05, SENTIMENT(), snoozed, _dt(last), version, "{}", pending, False,
                        failed_send, _dt(started), _dt(last)))
    write("ticket", TICKET_COLS, tickets)
    write("message", MESSAGE_COLS, messages)
    write("followup", FOLLOWUP_COLS, followups)
    write("outbound_action", ACTION_COLS, actions)
    write("note_mention", ("followup_id", "user_id"), mentions)
    write("ticket_tag", ("ticket_id", "tag_id"), tag_rows)
    write("ticket_category", ("ticket_id", "category_id"), cat_rows)


def summary(report: Report) -> str:
    lines = [f"  {'table':<16} {'rows':>11} {'seconds':>8} {'rows/s':>10}"]
    for table, rows in report.rows.items():
        seconds = report.seconds[table]
        lines.append(f"  {table:<16} {rows:>11,} {seconds:>8.1f} {rows / max(seconds, 1e-9):>10,.0f}")
    for what, seconds in report.extra.items():
        lines.append(f"  {what:<16} {'':>11} {seconds:>8.1f}")
    lines.append(f"  total {report.total_seconds:.1f} s")
    return "\n".join(lines)
