"""Socket-pattern semantics (RFC 28 REQREP, 29 PUBSUB, 30 PIPELINE, 31 EXPAIR).

purezmq on both ends, over inproc and tcp, checking the rules of the RFCs and
of libzmq's zmq_socket(3) / zmq_setsockopt(3): round-robin and fair-queueing,
envelopes, routing ids, ROUTER/XPUB options, CONFLATE, IMMEDIATE.

Every wait is bounded: receives use RCVTIMEO / poll, and conditions on the
I/O thread's progress are polled with ``wait_for``. Absence of a message is
checked with a short poll after something that proves the path is live.
"""

from __future__ import annotations

import itertools
import socket
import struct
import time

import pytest
from helpers import mk

import purezmq as zmq

pytestmark = pytest.mark.timeout(20)

# ``ctx`` (tests/conftest.py): a fresh purezmq Context, destroyed with linger 0.

TRANSPORTS = ["inproc", "tcp"]
_names = itertools.count()


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def bind(sock, transport):
    """Bind on a fresh endpoint of ``transport``; return the address to connect to."""
    if transport == "inproc":
        ep = f"inproc://patterns-{next(_names)}"
        sock.bind(ep)
        return ep
    sock.bind("tcp://127.0.0.1:*")
    return sock.get(zmq.LAST_ENDPOINT).decode()


def wait_for(cond, timeout=3.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def queued_in(sock):
    """Messages that arrived at ``sock`` and wait to be read (white-box, for tcp sync)."""
    sock.get(zmq.EVENTS)  # the socket takes in new pipes when called
    return sum(len(p.inq) for p in sock._core.pipes)


def nothing(sock, ms=150):
    """True if nothing arrives at ``sock`` within ``ms``."""
    return sock.poll(ms) == 0


def which(socks, timeout=2000):
    """Index of the one socket in ``socks`` that has a message."""
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    ready = dict(poller.poll(timeout))
    assert len(ready) == 1, f"expected exactly one readable socket, got {len(ready)}"
    (s,) = ready
    return socks.index(s)


# -- REQ / REP ---------------------------------------------------------------------------


def test_req_round_robin_over_reps(ctx, transport):
    reps = [mk(ctx, zmq.REP) for _ in range(3)]
    eps = [bind(r, transport) for r in reps]
    req = mk(ctx, zmq.REQ)
    for ep in eps:
        req.connect(ep)
    for i in range(9):
        req.send(b"q%d" % i)
        k = which(reps)
        assert k == i % 3
        assert reps[k].recv() == b"q%d" % i
        reps[k].send(b"r%d" % i)
        assert req.recv() == b"r%d" % i


def test_req_strict_alternation(ctx, transport):
    rep = mk(ctx, zmq.REP)
    req = mk(ctx, zmq.REQ)
    req.connect(bind(rep, transport))
    with pytest.raises(zmq.ZMQError) as e:
        req.recv()
    assert e.value.errno == zmq.EFSM
    req.send(b"one")
    with pytest.raises(zmq.ZMQError) as e:
        req.send(b"two")
    assert e.value.errno == zmq.EFSM
    # REP: reply only after a request, one reply per request.
    with pytest.raises(zmq.ZMQError) as e:
        rep.send(b"unasked")
    assert e.value.errno == zmq.EFSM
    assert rep.recv() == b"one"
    with pytest.raises(zmq.ZMQError) as e:
        rep.recv()
    assert e.value.errno == zmq.EFSM
    rep.send(b"reply")
    assert req.recv() == b"reply"
    req.send(b"again")
    assert rep.recv() == b"again"


def test_req_multipart_request_and_reply(ctx, transport):
    rep = mk(ctx, zmq.REP)
    req = mk(ctx, zmq.REQ)
    req.connect(bind(rep, transport))
    req.send_multipart([b"a", b"", b"c"])
    assert rep.recv_multipart() == [b"a", b"", b"c"]
    rep.send_multipart([b"x", b"y"])
    assert req.recv_multipart() == [b"x", b"y"]


def test_req_relaxed_correlate_drops_stale_reply(ctx, transport):
    reps = [mk(ctx, zmq.REP) for _ in range(2)]
    eps = [bind(r, transport) for r in reps]
    req = mk(ctx, zmq.REQ, req_relaxed=1, req_correlate=1)
    for ep in eps:
        req.connect(ep)
    req.send(b"A")
    req.send(b"B")  # relaxed: no EFSM, A is abandoned
    assert reps[0].recv() == b"A"
    assert reps[1].recv() == b"B"
    reps[0].send(b"reply-A")  # stale: must be dropped
    reps[1].send(b"reply-B")
    assert req.recv() == b"reply-B"
    assert nothing(req)
    # After a reply the next request works as usual (goes to rep 0 again).
    req.send(b"C")
    assert reps[0].recv() == b"C"
    reps[0].send(b"reply-C")
    assert req.recv() == b"reply-C"


def test_req_relaxed_without_reply_can_send_again(ctx, transport):
    rep = mk(ctx, zmq.REP)
    req = mk(ctx, zmq.REQ, req_relaxed=1)
    req.connect(bind(rep, transport))
    req.send(b"1")
    req.send(b"2")
    assert rep.recv() == b"1"


def test_req_correlate_request_id_through_router(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    req = mk(ctx, zmq.REQ, req_correlate=1)
    req.connect(bind(router, transport))
    req.send(b"x")
    rid, reqid, empty, body = router.recv_multipart()
    assert len(reqid) == 4 and empty == b"" and body == b"x"
    wrong = struct.pack(">I", (struct.unpack(">I", reqid)[0] + 1) & 0xFFFFFFFF)
    router.send_multipart([rid, wrong, b"", b"bad"])
    router.send_multipart([rid, b"", b"no-id"])  # uncorrelated reply: dropped too
    router.send_multipart([rid, reqid, b"", b"good"])
    assert req.recv() == b"good"
    assert nothing(req)
    # Each request gets a new id.
    req.send(b"y")
    _, reqid2, _, _ = router.recv_multipart()
    assert reqid2 != reqid


def test_req_without_correlate_sends_plain_envelope(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    req = mk(ctx, zmq.REQ)
    req.connect(bind(router, transport))
    req.send(b"x")
    rid, empty, body = router.recv_multipart()
    assert (empty, body) == (b"", b"x")
    router.send_multipart([rid, b"", b"ok"])
    assert req.recv() == b"ok"


def test_rep_fair_queues_requests(ctx, transport):
    rep = mk(ctx, zmq.REP)
    ep = bind(rep, transport)
    dealers = []
    for name in (b"a", b"b", b"c"):
        d = mk(ctx, zmq.DEALER)
        d.connect(ep)
        dealers.append(d)
        for i in range(3):
            d.send_multipart([b"", name + b"%d" % i])
    wait_for(lambda: queued_in(rep) == 9, what="all requests at REP")
    got = []
    for _ in range(9):
        req = rep.recv()
        got.append(req)
        rep.send(b"re-" + req)
    for k in range(0, 9, 3):
        assert sorted(g[:1] for g in got[k : k + 3]) == [b"a", b"b", b"c"], got
    for name, d in zip((b"a", b"b", b"c"), dealers, strict=True):
        assert [d.recv_multipart() for _ in range(3)] == [
            [b"", b"re-" + name + b"%d" % i] for i in range(3)
        ]


def test_rep_replies_to_the_right_requester(ctx, transport):
    rep = mk(ctx, zmq.REP)
    ep = bind(rep, transport)
    reqs = [mk(ctx, zmq.REQ) for _ in range(4)]
    for i, r in enumerate(reqs):
        r.connect(ep)
        r.send(b"%d" % i)
    for _ in reqs:
        m = rep.recv()
        rep.send(b"reply-" + m)
    for i, r in enumerate(reqs):
        assert r.recv() == b"reply-%d" % i


def test_rep_preserves_multi_hop_envelope(ctx, transport):
    rep = mk(ctx, zmq.REP)
    dealer = mk(ctx, zmq.DEALER)
    dealer.connect(bind(rep, transport))
    dealer.send_multipart([b"hop2", b"hop1", b"", b"body", b"more"])
    assert rep.recv_multipart() == [b"body", b"more"]
    rep.send(b"reply")
    assert dealer.recv_multipart() == [b"hop2", b"hop1", b"", b"reply"]
    # A message with no delimiter is not a request: REP drops it.
    dealer.send_multipart([b"no-delimiter"])
    dealer.send_multipart([b"", b"second"])
    assert rep.recv() == b"second"


def test_req_rep_through_router_dealer_hop(ctx, transport):
    front = mk(ctx, zmq.ROUTER)
    back = mk(ctx, zmq.DEALER)
    rep = mk(ctx, zmq.REP)
    front_ep = bind(front, transport)
    back_ep = bind(back, transport)
    rep.connect(back_ep)
    reqs = [mk(ctx, zmq.REQ) for _ in range(2)]
    for r in reqs:
        r.connect(front_ep)
    for i, r in enumerate(reqs):
        r.send(b"req%d" % i)
        env = front.recv_multipart()
        assert env[1:] == [b"", b"req%d" % i]
        back.send_multipart(env)
        assert rep.recv() == b"req%d" % i
        rep.send(b"rep%d" % i)
        reply = back.recv_multipart()
        assert reply == [env[0], b"", b"rep%d" % i]
        front.send_multipart(reply)
        assert r.recv() == b"rep%d" % i


# -- DEALER / ROUTER -------------------------------------------------------------------------


def test_router_explicit_routing_ids(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    ep = bind(router, transport)
    dealers = {}
    for name in (b"alpha", b"beta"):
        d = mk(ctx, zmq.DEALER, routing_id=name)
        d.connect(ep)
        d.send(b"hello from " + name)
        dealers[name] = d
    seen = {}
    for _ in dealers:
        rid, body = router.recv_multipart()
        seen[rid] = body
    assert seen == {b"alpha": b"hello from alpha", b"beta": b"hello from beta"}
    for name in (b"beta", b"alpha"):
        router.send_multipart([name, b"to", name])
    for name, d in dealers.items():
        assert d.recv_multipart() == [b"to", name]
        assert nothing(d, 50)


def test_router_generated_routing_ids(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    ep = bind(router, transport)
    dealers = [mk(ctx, zmq.DEALER) for _ in range(2)]
    for i, d in enumerate(dealers):
        d.connect(ep)
        d.send(b"%d" % i)
    ids = {}
    for _ in dealers:
        rid, body = router.recv_multipart()
        assert len(rid) == 5 and rid[0] == 0  # libzmq: 0x00 + 32-bit counter
        ids[body] = rid
    assert len(set(ids.values())) == 2
    for body, rid in ids.items():
        router.send_multipart([rid, b"back-" + body])
    for i, d in enumerate(dealers):
        assert d.recv() == b"back-%d" % i


def test_router_connect_routing_id(ctx, transport):
    server = mk(ctx, zmq.ROUTER, routing_id=b"server")
    ep = bind(server, transport)
    client = mk(ctx, zmq.ROUTER, router_mandatory=1)
    client.connect_rid = b"srv"
    client.connect(ep)
    # ROUTER to ROUTER: the connecting side names the peer itself, and can
    # route to it once the connection is up (EHOSTUNREACH until then).
    send_when_routable(client, [b"srv", b"hi"])
    rid, body = server.recv_multipart()
    assert body == b"hi"
    server.send_multipart([rid, b"ho"])
    assert client.recv_multipart() == [b"srv", b"ho"]


def send_when_routable(router, msg, timeout=3.0):
    """Send ``msg`` from a ROUTER_MANDATORY socket as soon as its peer is known."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            router.send_multipart(msg, zmq.NOBLOCK)
            return
        except zmq.ZMQError as e:
            assert e.errno == zmq.EHOSTUNREACH
            if time.monotonic() > deadline:
                raise AssertionError(f"no route to {msg[0]!r}") from None
            time.sleep(0.005)


def test_router_mandatory_unroutable(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    bind(router, transport)
    router.send_multipart([b"nobody", b"x"])  # default: silently dropped
    router.router_mandatory = 1
    with pytest.raises(zmq.ZMQError) as e:
        router.send_multipart([b"nobody", b"x"])
    assert e.value.errno == zmq.EHOSTUNREACH


def test_router_mandatory_eagain_at_hwm(ctx):
    router = mk(ctx, zmq.ROUTER, router_mandatory=1, sndhwm=3)
    ep = bind(router, "inproc")
    dealer = mk(ctx, zmq.DEALER, routing_id=b"D", rcvhwm=2)
    dealer.connect(ep)
    sent = 0
    with pytest.raises(zmq.Again):
        for _ in range(100):
            router.send_multipart([b"D", b"%d" % sent], zmq.NOBLOCK)
            sent += 1
    assert sent == 5  # inproc: sender's SNDHWM + receiver's RCVHWM
    router.sndtimeo = 50
    t0 = time.monotonic()
    with pytest.raises(zmq.Again):
        router.send_multipart([b"D", b"blocked"])
    assert time.monotonic() - t0 >= 0.04
    assert [dealer.recv() for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    router.send_multipart([b"D", b"after"], zmq.NOBLOCK)  # room again
    assert dealer.recv() == b"after"


def test_router_drops_at_hwm_without_mandatory(ctx):
    router = mk(ctx, zmq.ROUTER, sndhwm=3)
    ep = bind(router, "inproc")
    dealer = mk(ctx, zmq.DEALER, routing_id=b"D", rcvhwm=2)
    dealer.connect(ep)
    for i in range(20):
        router.send_multipart([b"D", b"%d" % i], zmq.NOBLOCK)
    assert [dealer.recv() for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    assert nothing(dealer, 50)


@pytest.mark.parametrize("handover", [0, 1])
def test_router_duplicate_id_inproc(ctx, handover):
    router = mk(ctx, zmq.ROUTER, router_handover=handover)
    ep = bind(router, "inproc")
    d1 = mk(ctx, zmq.DEALER, routing_id=b"X")
    d1.connect(ep)
    d1.send(b"from-1")
    assert router.recv_multipart() == [b"X", b"from-1"]
    d2 = mk(ctx, zmq.DEALER, routing_id=b"X")
    d2.connect(ep)
    router.send_multipart([b"X", b"hi"])
    winner, loser = (d2, d1) if handover else (d1, d2)
    assert winner.recv() == b"hi"
    assert nothing(loser, 50)


def test_router_handover_tcp(ctx):
    router = mk(ctx, zmq.ROUTER, router_handover=1)
    ep = bind(router, "tcp")
    d1 = mk(ctx, zmq.DEALER, routing_id=b"X")
    d1.connect(ep)
    d1.send(b"from-1")
    assert router.recv_multipart() == [b"X", b"from-1"]
    d2 = mk(ctx, zmq.DEALER, routing_id=b"X")
    d2.connect(ep)
    d2.send(b"from-2")
    assert router.recv_multipart() == [b"X", b"from-2"]
    router.send_multipart([b"X", b"hi"])
    assert d2.recv() == b"hi"
    assert nothing(d1, 50)


def test_dealer_probe_router(ctx, transport):
    router = mk(ctx, zmq.ROUTER)
    ep = bind(router, transport)
    dealer = mk(ctx, zmq.DEALER, probe_router=1, routing_id=b"P")
    dealer.connect(ep)
    assert router.recv_multipart() == [b"P", b""]
    dealer.send(b"next")
    assert router.recv_multipart() == [b"P", b"next"]


def test_router_probe_router(ctx, transport):
    server = mk(ctx, zmq.ROUTER)
    ep = bind(server, transport)
    client = mk(ctx, zmq.ROUTER, probe_router=1, routing_id=b"C")
    client.connect(ep)
    # The probe is the only way the server learns of a connecting ROUTER.
    assert server.recv_multipart() == [b"C", b""]
    server.send_multipart([b"C", b"welcome"])
    rid, body = client.recv_multipart()
    assert body == b"welcome"


def test_dealer_round_robin_and_fair_queue(ctx, transport):
    routers = [mk(ctx, zmq.ROUTER) for _ in range(2)]
    eps = [bind(r, transport) for r in routers]
    dealer = mk(ctx, zmq.DEALER, routing_id=b"D")
    for ep in eps:
        dealer.connect(ep)
    for i in range(4):
        dealer.send(b"%d" % i)
    assert [routers[0].recv_multipart() for _ in range(2)] == [[b"D", b"0"], [b"D", b"2"]]
    assert [routers[1].recv_multipart() for _ in range(2)] == [[b"D", b"1"], [b"D", b"3"]]
    for i in range(3):
        for k, r in enumerate(routers):
            r.send_multipart([b"D", b"r%d-%d" % (k, i)])
    wait_for(lambda: queued_in(dealer) == 6, what="replies at DEALER")
    got = [dealer.recv() for _ in range(6)]
    for k in range(0, 6, 2):
        assert sorted(g[:2] for g in got[k : k + 2]) == [b"r0", b"r1"], got


# -- PUSH / PULL -------------------------------------------------------------------------------


def test_push_load_balances_over_pulls(ctx, transport):
    pulls = [mk(ctx, zmq.PULL) for _ in range(3)]
    eps = [bind(p, transport) for p in pulls]
    push = mk(ctx, zmq.PUSH)
    for ep in eps:
        push.connect(ep)
    for i in range(12):
        push.send(b"%d" % i)
    for k, p in enumerate(pulls):
        assert [p.recv() for _ in range(4)] == [b"%d" % i for i in range(k, 12, 3)]
        assert nothing(p, 30)


def test_pull_fair_queues_pushes(ctx, transport):
    pull = mk(ctx, zmq.PULL)
    ep = bind(pull, transport)
    pushes = [mk(ctx, zmq.PUSH) for _ in range(3)]
    for k, p in enumerate(pushes):
        p.connect(ep)
        for i in range(4):
            p.send(b"%d-%d" % (k, i))
    wait_for(lambda: queued_in(pull) == 12, what="all messages at PULL")
    got = [pull.recv() for _ in range(12)]
    for k in range(0, 12, 3):
        assert sorted(g[:1] for g in got[k : k + 3]) == [b"0", b"1", b"2"], got
    for k in range(3):
        assert [g for g in got if g.startswith(b"%d-" % k)] == [b"%d-%d" % (k, i) for i in range(4)]


def test_push_pull_multipart_atomic(ctx, transport):
    pull = mk(ctx, zmq.PULL)
    push = mk(ctx, zmq.PUSH)
    push.connect(bind(pull, transport))
    push.send(b"a", zmq.SNDMORE)
    push.send(b"b", zmq.SNDMORE)
    assert nothing(pull, 50)  # nothing leaves before the last part
    push.send(b"c")
    assert pull.recv_multipart() == [b"a", b"b", b"c"]


# -- PAIR ----------------------------------------------------------------------------------------


def test_pair_exclusive_inproc(ctx):
    a = mk(ctx, zmq.PAIR)
    ep = bind(a, "inproc")
    b = mk(ctx, zmq.PAIR)
    b.connect(ep)
    c = mk(ctx, zmq.PAIR)
    c.connect(ep)
    try:
        c.send(b"intruder", zmq.NOBLOCK)
    except zmq.Again:
        pass  # libzmq: the refused pipe is gone, nothing to send to
    b.send(b"from-b")
    assert a.recv() == b"from-b"
    assert nothing(a, 50)
    a.send(b"to-b")
    assert b.recv() == b"to-b"
    assert nothing(c, 50)


def test_pair_exclusive_tcp(ctx):
    a = mk(ctx, zmq.PAIR)
    mon = a.get_monitor_socket()
    mon.rcvtimeo = 2000
    ep = bind(a, "tcp")
    b = mk(ctx, zmq.PAIR)
    b.connect(ep)
    b.send(b"from-b")
    assert a.recv() == b"from-b"
    c = mk(ctx, zmq.PAIR)
    c.connect(ep)
    c.send(b"intruder")
    # Wait until the listener has seen the second connection.
    accepted = 0
    while accepted < 2:
        ev, _ = struct.unpack("=HI", mon.recv())
        mon.recv()
        accepted += ev == zmq.EVENT_ACCEPTED
    assert nothing(a, 200)
    a.send(b"to-b")
    assert b.recv() == b"to-b"
    assert nothing(c, 50)


def test_pair_bidirectional(ctx, transport):
    a = mk(ctx, zmq.PAIR)
    b = mk(ctx, zmq.PAIR)
    b.connect(bind(a, transport))
    for i in range(5):
        a.send(b"a%d" % i)
        b.send(b"b%d" % i)
    assert [b.recv() for _ in range(5)] == [b"a%d" % i for i in range(5)]
    assert [a.recv() for _ in range(5)] == [b"b%d" % i for i in range(5)]


# -- PUB / SUB -----------------------------------------------------------------------------------

PROBE = b"\x00probe"


def sync_sub(pub, sub, topic, timeout=3.0):
    """Publish probes on ``topic`` until ``sub`` gets one: its subscription is live.

    More probes may follow the one it returned on (each poll can time out while
    its probe is still in flight): read on with ``collect``, which skips them.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.send(topic + PROBE)
        if sub.poll(20):
            assert sub.recv().endswith(PROBE)
            return
    raise AssertionError(f"subscription to {topic!r} never reached the publisher")


def collect(sub, end, limit=100):
    """Messages received (probes skipped) up to and including one whose first frame is ``end``."""
    got = []
    for _ in range(limit):
        m = sub.recv_multipart()
        if m[0].endswith(PROBE):
            continue
        got.append(m[0] if len(m) == 1 else m)
        if m[0] == end:
            return got
    raise AssertionError("end marker never came")


def pubsub(ctx, transport, pub_kind=zmq.PUB, sub_kind=zmq.SUB, **subopts):
    pub = mk(ctx, pub_kind)
    sub = mk(ctx, sub_kind, **subopts)
    sub.connect(bind(pub, transport))
    return pub, sub


def test_sub_prefix_filtering(ctx, transport):
    pub, sub = pubsub(ctx, transport)
    sub.subscribe(b"ab")
    sync_sub(pub, sub, b"ab")
    for t in (b"a", b"ab", b"abc", b"b", b"xab", b"", b"Ab"):
        pub.send(t)
    pub.send_multipart([b"ab", b"more"])
    pub.send_multipart([b"zz", b"ab"])  # only the first frame is the topic
    pub.send(b"ab-end")
    assert collect(sub, b"ab-end") == [b"ab", b"abc", [b"ab", b"more"], b"ab-end"]


def test_sub_without_subscription_gets_nothing(ctx, transport):
    pub, sub = pubsub(ctx, transport)
    sub2 = mk(ctx, zmq.SUB)
    sub2.subscribe(b"")
    sub2.connect(pub.get(zmq.LAST_ENDPOINT).decode())
    sync_sub(pub, sub2, b"")
    pub.send(b"hello")
    # collect() skips the probes: sync_sub returns on the first one to arrive, and
    # under load the next ones (sent while it polled) are still on their way.
    assert collect(sub2, b"hello") == [b"hello"]
    assert nothing(sub, 100)


def test_sub_multiple_subscriptions_and_empty(ctx, transport):
    pub, sub = pubsub(ctx, transport)
    sub.subscribe(b"a")
    sub.subscribe("b")  # str is encoded
    sync_sub(pub, sub, b"b")
    for t in (b"a1", b"b1", b"c1", b"b-end"):
        pub.send(t)
    assert collect(sub, b"b-end") == [b"a1", b"b1", b"b-end"]
    sub.subscribe(b"")
    sync_sub(pub, sub, b"zzz")
    for t in (b"c1", b"a2", b"end"):
        pub.send(t)
    assert collect(sub, b"end") == [b"c1", b"a2", b"end"]


def test_sub_unsubscribe(ctx, transport):
    pub, sub = pubsub(ctx, transport)
    sub.subscribe(b"a")
    sub.subscribe(b"b")
    sub.subscribe(b"c")
    sub.subscribe(b"c")  # subscriptions are counted
    sync_sub(pub, sub, b"c")
    sub.unsubscribe(b"a")
    sub.unsubscribe("c")
    sub.subscribe(b"sync")  # follows the cancels on the same connection
    sync_sub(pub, sub, b"sync")
    for t in (b"a1", b"b1", b"c1", b"b-end"):
        pub.send(t)
    assert collect(sub, b"b-end") == [b"b1", b"c1", b"b-end"]


def test_sub_subscription_replayed_to_late_publisher(ctx):
    sub = mk(ctx, zmq.SUB)
    sub.subscribe(b"t")
    pub = mk(ctx, zmq.PUB)
    ep = bind(pub, "tcp")
    sub.connect(ep)  # subscribed before connecting: sent on connect
    sync_sub(pub, sub, b"t")
    pub.send(b"x")
    pub.send(b"t-end")
    assert collect(sub, b"t-end") == [b"t-end"]


def test_sub_inproc_connect_before_bind(ctx):
    sub = mk(ctx, zmq.SUB)
    sub.subscribe(b"t")
    sub.connect("inproc://late-pub")
    pub = mk(ctx, zmq.PUB)
    pub.bind("inproc://late-pub")
    pub.send(b"x")
    pub.send(b"t1")
    assert sub.recv() == b"t1"


def test_pub_fans_out_to_all_subscribers(ctx, transport):
    pub = mk(ctx, zmq.PUB)
    ep = bind(pub, transport)
    subs = []
    for topic in (b"a", b"b", b""):
        s = mk(ctx, zmq.SUB)
        s.subscribe(topic)
        s.connect(ep)
        sync_sub(pub, s, topic + b"a" if not topic else topic)
        subs.append(s)
    for t in (b"a1", b"b1", b"c1", b"aa-end"):
        pub.send(t)
    pub.send(b"b-end")
    assert collect(subs[0], b"aa-end") == [b"a1", b"aa-end"]
    assert collect(subs[1], b"b-end") == [b"b1", b"b-end"]
    assert collect(subs[2], b"b-end") == [b"a1", b"b1", b"c1", b"aa-end", b"b-end"]


def test_invert_matching_pub_sub(ctx, transport):
    pub = mk(ctx, zmq.PUB, invert_matching=1)
    sub = mk(ctx, zmq.SUB, invert_matching=1)
    sub.subscribe(b"a")
    sub.connect(bind(pub, transport))
    sync_sub(pub, sub, b"z")
    for t in (b"a1", b"b1", b"ab", b"c1", b"end"):
        pub.send(t)
    assert collect(sub, b"end") == [b"b1", b"c1", b"end"]


def test_invert_matching_filters_at_publisher(ctx, transport):
    xpub = mk(ctx, zmq.XPUB, invert_matching=1)
    xsub = mk(ctx, zmq.XSUB)  # XSUB does not filter: what arrives is the publisher's choice
    xsub.connect(bind(xpub, transport))
    xsub.send(b"\x01a")
    assert xpub.recv() == b"\x01a"
    for t in (b"a1", b"b1", b"ab", b"end"):
        xpub.send(t)
    assert [xsub.recv() for _ in range(2)] == [b"b1", b"end"]


def test_xpub_receives_subscriptions_default(ctx, transport):
    xpub = mk(ctx, zmq.XPUB)
    ep = bind(xpub, transport)
    s1, s2 = mk(ctx, zmq.SUB), mk(ctx, zmq.SUB)
    s1.connect(ep)
    s2.connect(ep)
    s1.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    s2.subscribe(b"t")  # a duplicate: not shown
    s2.subscribe(b"u")
    assert xpub.recv() == b"\x01u"
    s1.unsubscribe(b"t")  # s2 still wants t: not shown
    s1.subscribe(b"v")
    assert xpub.recv() == b"\x01v"
    s2.unsubscribe(b"t")
    assert xpub.recv() == b"\x00t"
    assert nothing(xpub, 50)


def test_xpub_verbose(ctx, transport):
    xpub = mk(ctx, zmq.XPUB, xpub_verbose=1)
    ep = bind(xpub, transport)
    s1, s2 = mk(ctx, zmq.SUB), mk(ctx, zmq.SUB)
    s1.connect(ep)
    s2.connect(ep)
    s1.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    s2.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    s1.unsubscribe(b"t")  # VERBOSE shows every subscribe, not every cancel
    s1.subscribe(b"v")
    assert xpub.recv() == b"\x01v"
    s2.unsubscribe(b"t")
    assert xpub.recv() == b"\x00t"


def test_xpub_verboser(ctx, transport):
    xpub = mk(ctx, zmq.XPUB, xpub_verboser=1)
    ep = bind(xpub, transport)
    s1, s2 = mk(ctx, zmq.SUB), mk(ctx, zmq.SUB)
    s1.connect(ep)
    s2.connect(ep)
    s1.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    s2.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    s1.unsubscribe(b"t")
    assert xpub.recv() == b"\x00t"
    s2.unsubscribe(b"t")
    assert xpub.recv() == b"\x00t"


def test_xpub_nodrop_eagain_at_hwm(ctx):
    xpub = mk(ctx, zmq.XPUB, xpub_nodrop=1, sndhwm=2)
    sub = mk(ctx, zmq.SUB, rcvhwm=3)
    sub.subscribe(b"")
    sub.connect(bind(xpub, "inproc"))
    assert xpub.recv() == b"\x01"
    sent = 0
    with pytest.raises(zmq.Again):
        for _ in range(100):
            xpub.send(b"%d" % sent, zmq.NOBLOCK)
            sent += 1
    assert sent == 5  # inproc: SNDHWM + RCVHWM
    xpub.sndtimeo = 50
    with pytest.raises(zmq.Again):
        xpub.send(b"blocked")
    assert [sub.recv() for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
    xpub.send(b"more", zmq.NOBLOCK)
    assert sub.recv() == b"more"


def test_xpub_nodrop_tcp_eventually_blocks_and_loses_nothing(ctx):
    xpub = mk(ctx, zmq.XPUB, xpub_nodrop=1, sndhwm=10)
    sub = mk(ctx, zmq.SUB, rcvhwm=10)
    sub.subscribe(b"")
    sub.connect(bind(xpub, "tcp"))
    assert xpub.recv() == b"\x01"
    payload = b"x" * 4096
    xpub.sndtimeo = 300  # no room for that long: blocked for good
    sent = 0
    with pytest.raises(zmq.Again):
        while sent < 100_000:
            xpub.send(b"%d:" % sent + payload)
            sent += 1
    for i in range(sent):
        assert sub.recv().startswith(b"%d:" % i)
    assert nothing(sub, 50)


def test_pub_drops_without_nodrop(ctx):
    pub = mk(ctx, zmq.PUB, sndhwm=2)
    sub = mk(ctx, zmq.SUB, rcvhwm=3)
    sub.subscribe(b"")
    sub.connect(bind(pub, "inproc"))
    for i in range(50):
        pub.send(b"%d" % i, zmq.NOBLOCK)  # never blocks
    assert [sub.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
    assert nothing(sub, 50)


def test_xpub_manual(ctx, transport):
    xpub = mk(ctx, zmq.XPUB, xpub_manual=1)
    xsub = mk(ctx, zmq.XSUB)
    xsub.connect(bind(xpub, transport))
    xsub.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    xpub.subscribe(b"B")  # the application decides: B instead of A
    for t in (b"A1", b"B1", b"B-end"):
        xpub.send(t)
    assert [xsub.recv() for _ in range(2)] == [b"B1", b"B-end"]
    # Manual mode hands over every (un)subscription, even for topics the
    # publisher never subscribed, and SUBSCRIBE/UNSUBSCRIBE on the XPUB apply
    # to the subscriber whose message was received last.
    xsub.send(b"\x00A")
    assert xpub.recv() == b"\x00A"
    xpub.unsubscribe(b"B")
    xsub2 = mk(ctx, zmq.XSUB)
    xsub2.connect(xpub.get(zmq.LAST_ENDPOINT).decode())
    xsub2.send(b"\x01A")
    assert xpub.recv() == b"\x01A"
    xpub.subscribe(b"C")
    for t in (b"A2", b"B2", b"C1"):
        xpub.send(t)
    assert xsub2.recv() == b"C1"
    assert nothing(xsub, 100)


def test_xpub_welcome_message(ctx, transport):
    xpub = mk(ctx, zmq.XPUB, xpub_welcome_msg=b"W", xpub_verbose=1)
    ep = bind(xpub, transport)
    sub = mk(ctx, zmq.SUB)
    sub.subscribe(b"W")
    sub.connect(ep)
    assert xpub.recv() == b"\x01W"
    assert sub.recv() == b"W"
    sub2 = mk(ctx, zmq.SUB)
    sub2.subscribe(b"W")
    sub2.connect(ep)
    assert xpub.recv() == b"\x01W"
    assert sub2.recv() == b"W"
    assert nothing(sub, 50)


def test_xsub_xpub_user_messages_upstream(ctx, transport):
    xpub = mk(ctx, zmq.XPUB)
    xsub = mk(ctx, zmq.XSUB)
    xsub.connect(bind(xpub, transport))
    xsub.send(b"\x01t")
    assert xpub.recv() == b"\x01t"
    xsub.send(b"hello upstream")  # not a subscription: passed through
    assert xpub.recv() == b"hello upstream"


def test_conflate_keeps_latest(ctx, transport):
    # libzmq applies an inproc connection's CONFLATE from the connecting side.
    pull = mk(ctx, zmq.PULL, conflate=1)
    push = mk(ctx, zmq.PUSH)
    pull.connect(bind(push, transport))
    if transport == "tcp":
        push.send(b"first")
        assert pull.recv() == b"first"  # connected
    for i in range(10):
        push.send(b"%d" % i)
    if transport == "tcp":
        # A message in the queue is a list, or a tuple if decoded in a run (core/pipe.py).
        inq = next(iter(pull._core.pipes)).inq
        wait_for(lambda: [b"9"] in map(list, inq) if pull.poll(0) else False)
    assert pull.recv() == b"9"
    assert nothing(pull, 50)
    push.send(b"later")
    assert pull.recv() == b"later"


def test_conflate_sub(ctx):
    pub = mk(ctx, zmq.PUB)
    sub = mk(ctx, zmq.SUB, conflate=1)
    sub.subscribe(b"")
    sub.connect(bind(pub, "inproc"))
    for i in range(10):
        pub.send(b"%d" % i)
    assert sub.recv() == b"9"
    assert nothing(sub, 50)


def silent_listener():
    """A TCP port that accepts (in the kernel backlog) but never speaks ZMTP."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_immediate_no_queueing_to_unconnected_peers(ctx):
    lsock, dead_ep = silent_listener()
    try:
        push = mk(ctx, zmq.PUSH, immediate=1)
        push.connect(dead_ep)
        with pytest.raises(zmq.Again):
            push.send(b"nowhere", zmq.NOBLOCK)  # no completed connection, no pipe
        pull = mk(ctx, zmq.PULL)
        push.connect(bind(pull, "tcp"))
        push.send(b"0")  # waits (SNDTIMEO) until the live peer is connected
        for i in range(1, 10):
            push.send(b"%d" % i)
        assert [pull.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]
    finally:
        lsock.close()


def test_without_immediate_messages_queue_for_unconnected_peer(ctx):
    lsock, dead_ep = silent_listener()
    try:
        pull = mk(ctx, zmq.PULL)
        push = mk(ctx, zmq.PUSH)
        push.connect(dead_ep)
        push.connect(bind(pull, "tcp"))
        for i in range(10):
            push.send(b"%d" % i, zmq.NOBLOCK)
        # Round-robin: every other message waits for the silent peer.
        assert [pull.recv() for _ in range(5)] == [b"%d" % i for i in range(1, 10, 2)]
        assert nothing(pull, 100)
    finally:
        lsock.close()


# -- peers going away ---------------------------------------------------------------------------


def test_router_mandatory_unreachable_after_peer_leaves(ctx, transport):
    router = mk(ctx, zmq.ROUTER, router_mandatory=1)
    ep = bind(router, transport)
    dealer = mk(ctx, zmq.DEALER, routing_id=b"D")
    dealer.connect(ep)
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"D", b"hi"]
    router.send_multipart([b"D", b"ok"])
    assert dealer.recv() == b"ok"
    dealer.close()
    deadline = time.monotonic() + 3
    while True:
        try:
            router.send_multipart([b"D", b"anyone?"], zmq.NOBLOCK)
        except zmq.ZMQError as e:
            assert e.errno == zmq.EHOSTUNREACH
            break
        assert time.monotonic() < deadline, "ROUTER still routes to a closed peer"
        time.sleep(0.005)


def test_xpub_sees_cancel_when_subscriber_leaves(ctx, transport):
    xpub = mk(ctx, zmq.XPUB)
    ep = bind(xpub, transport)
    sub = mk(ctx, zmq.SUB)
    sub.connect(ep)
    sub.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    sub.close()
    assert xpub.recv() == b"\x00t"


def test_sub_resubscribes_after_publisher_restart(ctx):
    pub = mk(ctx, zmq.PUB)
    ep = bind(pub, "tcp")
    sub = mk(ctx, zmq.SUB, reconnect_ivl=20)
    sub.subscribe(b"t")
    sub.connect(ep)
    sync_sub(pub, sub, b"t")
    pub.close()
    pub2 = mk(ctx, zmq.PUB)
    deadline = time.monotonic() + 3
    while True:  # the old listener closes on the I/O thread
        try:
            pub2.bind(ep)
            break
        except zmq.ZMQError as e:
            assert e.errno == zmq.EADDRINUSE and time.monotonic() < deadline
            time.sleep(0.01)
    sync_sub(pub2, sub, b"t")  # the subscription was sent again on reconnect
    pub2.send(b"x")
    pub2.send(b"t-end")
    assert collect(sub, b"t-end") == [b"t-end"]


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_pub_applies_a_subscription_sent_just_before(ctx, kind):
    """A SUB subscribes and the PUB publishes microseconds later, in one thread (as
    pyzmq's test_log does): the PUB reads the subscription off the wire first
    (SocketBase.take_input), as libzmq's parallel I/O threads would have."""
    for i in range(10):
        pub = mk(ctx, zmq.PUB)
        sub = mk(ctx, zmq.SUB)
        sub.subscribe(b"A")
        sub.connect(bind(pub, kind))
        sync_sub(pub, sub, b"A")
        time.sleep(0.002)  # past take_input's gap, as a real program's pause would be
        sub.subscribe(b"")
        pub.send(b"DEBUG %d" % i)
        assert sub.poll(2000), i
        assert sub.recv() == b"DEBUG %d" % i
        pub.close(linger=0)
        sub.close(linger=0)
