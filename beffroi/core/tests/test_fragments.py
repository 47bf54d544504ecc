from django.template import Context, Template

from beffroi.core.fragments import FragmentStore, fragments


def test_entries_are_reused_then_expire(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("beffroi.core.fragments.time.monotonic", lambda: clock[0])
    store = FragmentStore(ttl=60, max_bytes=10_000)
    builds = []

    def build():
        builds.append(1)
        return f"version {len(builds)}"

    assert store.get_or_build(("a", 1), build) == "version 1"
    assert store.get_or_build(("a", 1), build) == "version 1"
    assert store.get_or_build(("a", 2), build) == "version 2"  # another key: another entry
    clock[0] += 61
    assert store.get_or_build(("a", 1), build) == "version 3"


def test_memory_is_bounded_in_bytes_least_recently_used_first():
    store = FragmentStore(ttl=60, max_bytes=3 * (1000 + 300))
    for name in ("a", "b", "c"):
        store.get_or_build((name,), lambda: "x" * 1000)
    store.get_or_build(("a",), lambda: "rebuilt")  # "a" is used again: "b" is now the oldest
    store.get_or_build(("d",), lambda: "y" * 1000)
    assert list(store.entries) == [("c",), ("a",), ("d",)]
    assert store.size <= store.max_bytes
    # However many distinct keys a visitor makes up, the store stays within its bytes.
    for i in range(10_000):
        store.get_or_build(("list", f"?x={i}"), lambda: "z" * 500)
    assert store.size <= store.max_bytes and len(store.entries) <= 5


def test_the_template_tag_keys_on_its_values_and_keeps_escaping():
    fragments.clear()
    template = Template('{% load fragment_tags %}{% fragment "t" since %}{{ text }}{% endfragment %}')
    first = template.render(Context({"since": 1, "text": "<b>un</b>"}))
    assert first == "&lt;b&gt;un&lt;/b&gt;"
    # Same key: the kept rendering, whatever the context now says.
    assert template.render(Context({"since": 1, "text": "deux"})) == first
    # A new event id: rendered again.
    assert template.render(Context({"since": 2, "text": "deux"})) == "deux"
