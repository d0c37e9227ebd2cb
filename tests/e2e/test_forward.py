"""Names outside the cluster go to the upstream (Knot here) and are cached."""

import time

from dnscheck import assert_section, rcode_text
from servers import ask


def test_forwarded_name_is_answered_by_upstream(fedns):
    r = ask(fedns.address, "www.example.com.", "AAAA")
    assert rcode_text(r) == "NOERROR", str(r)
    assert_section(r.answer, "www.example.com. <=300 AAAA 2001:db8::1")


def test_second_query_comes_from_cache_with_a_lower_ttl(fedns):
    """Knot always says 300; after 1.5 s a cached copy must say less, and never more than the first."""
    first = ask(fedns.address, "cached.example.com.", "A")
    assert rcode_text(first) == "NOERROR", str(first)
    assert_section(first.answer, "cached.example.com. <=300 A 198.51.100.2")
    time.sleep(1.5)
    second = ask(fedns.address, "cached.example.com.", "A")
    assert_section(second.answer, "cached.example.com. <=300 A 198.51.100.2")
    assert second.answer[0].ttl < first.answer[0].ttl, \
        f"TTL {first.answer[0].ttl} then {second.answer[0].ttl}: the second answer did not come from the cache"


def test_forwarded_nxdomain_keeps_the_upstream_soa(fedns):
    r = ask(fedns.address, "nosuch.example.com.", "A")
    assert rcode_text(r) == "NXDOMAIN", str(r)
    assert [rr.name.to_text() for rr in r.authority if rr.rdtype == 6] == ["example.com."]


def test_forwarded_over_tcp(fedns):
    r = ask(fedns.address, "www.example.com.", "A", tcp=True)
    assert_section(r.answer, "www.example.com. <=300 A 198.51.100.1")
