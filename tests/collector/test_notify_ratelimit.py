"""Rate limits and merging as pure logic over a fake `now`."""

from __future__ import annotations

from collector.alerting.delivery.message import Outgoing, merge
from collector.alerting.delivery.ratelimit import RateLimiter, plan


def _msg(i: int) -> Outgoing:
    return Outgoing(channel="dt", title=f"告警 {i}", text=f"摄像机 cam-{i:03d} 离线", markdown=f"**cam-{i:03d}**",
                    severity="warning" if i % 2 else "critical", incident=f"inc-{i}", kind="open")


def test_window_counts_and_waits() -> None:
    rl = RateLimiter([(20, 60.0)])
    for k in range(20):
        assert rl.remaining(k * 0.1) == 20 - k
        rl.record(k * 0.1)
    assert rl.remaining(2.0) == 0
    assert abs(rl.wait_s(2.0) - 58.0) < 1e-9
    assert rl.remaining(60.01) == 1
    assert rl.wait_s(60.01) == 0


def test_feishu_two_windows() -> None:
    rl = RateLimiter([(5, 1.0), (100, 60.0)])
    t = 0.0
    sent = []
    while len(sent) < 150:
        w = rl.wait_s(t)
        t += w
        rl.record(t)
        sent.append(t)
    for i, s in enumerate(sent):
        assert sum(1 for x in sent[i:] if x < s + 1.0) <= 5
        assert sum(1 for x in sent[i:] if x < s + 60.0) <= 100


def test_unlimited() -> None:
    rl = RateLimiter([])
    rl.record(0)
    assert rl.remaining(0) is None and rl.wait_s(0) == 0


def _simulate(arrivals: list[tuple[float, Outgoing]], limits: list[tuple[int, float]], max_bytes: int) -> list[tuple[float, list[Outgoing]]]:
    """The notifier's channel loop on a fake clock: returns (time, messages) of every post."""
    rl = RateLimiter(limits)
    pending: list[Outgoing] = []
    posts: list[tuple[float, list[Outgoing]]] = []
    now = 0.0
    arrivals = sorted(arrivals, key=lambda a: a[0])
    while arrivals or pending:
        while arrivals and arrivals[0][0] <= now:
            pending.append(arrivals.pop(0)[1])
        if not pending:
            now = arrivals[0][0]
            continue
        w = rl.wait_s(now)
        if w > 0:
            now += w
            continue
        batch = plan(pending, rl.remaining(now), max_bytes)
        del pending[: len(batch)]
        rl.record(now)
        posts.append((now, batch))
        now += 0.05  # a post takes time
    return posts


def test_dingtalk_burst_of_60_is_merged_not_dropped() -> None:
    msgs = [_msg(i) for i in range(60)]
    posts = _simulate([(0.0, m) for m in msgs], [(20, 60.0)], 19000)
    times = [t for t, _ in posts]
    for t in times:
        assert sum(1 for x in times if t <= x < t + 60.0) <= 20
    carried = [m for _, b in posts for m in b]
    assert carried == msgs  # each exactly once, in order
    assert len(posts) < 60


def test_steady_stream_over_the_limit() -> None:
    # 3 messages a second for 2 minutes to a 20/min channel: 360 messages, all carried
    msgs = [(i / 3, _msg(i)) for i in range(360)]
    posts = _simulate(msgs, [(20, 60.0)], 19000)
    times = [t for t, _ in posts]
    for t in times:
        assert sum(1 for x in times if t <= x < t + 60.0) <= 20
    assert sorted(int(m.incident[4:]) for _, b in posts for m in b) == list(range(360))


def test_under_the_limit_one_message_per_post() -> None:
    msgs = [(i * 10.0, _msg(i)) for i in range(12)]
    posts = _simulate(msgs, [(20, 60.0)], 19000)
    assert [len(b) for _, b in posts] == [1] * 12


def test_size_limit_splits_merged_posts() -> None:
    msgs = [_msg(i) for i in range(60)]
    posts = _simulate([(0.0, m) for m in msgs], [(20, 60.0)], 300)
    assert all(len(b) >= 1 for _, b in posts)
    assert [m for _, b in posts for m in b] == msgs
    assert max(len(b) for _, b in posts) < 60


def test_merge_keeps_every_text_and_the_highest_severity() -> None:
    msgs = [_msg(i) for i in range(5)]
    m = merge(msgs, "zh")
    for x in msgs:
        assert x.text in m.text and x.title in m.text and x.markdown in (m.markdown or "")
    assert m.severity == "critical" and m.kind == "merged" and "5" in m.title
    assert merge(msgs, "en").title.endswith("(+4 more)")
    assert merge(msgs[:1]) is msgs[0]


def test_merged_sms_keeps_every_short_form() -> None:
    """Merged SMS are the short forms one after another; without a short form in each, the texts."""
    from dataclasses import replace

    msgs = [replace(_msg(i), short=f"告警 {i}（端口关闭），10:0{i} +08:00起") for i in range(3)]
    m = merge(msgs, "zh")
    assert m.short == "\n\n".join(x.short or "" for x in msgs)
    assert merge([*msgs, _msg(3)], "zh").short is None
