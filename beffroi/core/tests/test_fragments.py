from django.template import Context, Template

from beffroi.core.fragments import FragmentStore, fragments


def test_entries_are_reused_then_expire(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("beffroi.core.fragments.time.monotonic", lambda: clock[0])
    store = FragmentStore(ttl=60, max_entries=10)
    builds = []

    def build():
        builds.append(1)
        return f"version {len(builds)}"

    assert store.get_or_build(("a", 1), build) == "version 1"
    assert store.get_or_build(("a", 1), build) == "version 1"
    assert store.get_or_build(("a", 2), build) == "version 2"  # another key: another entry
    clock[0] += 61
    assert store.get_or_build(("a", 1), build) == "version 3"


def test_a_full_store_starts_again_empty():
    store = FragmentStore(ttl=60, max_entries=3)
    for i in range(3):
        store.get_or_build((i,), lambda i=i: i)
    store.get_or_build(("new",), lambda: "x")
    assert list(store.entries) == [("new",)]


def test_the_template_tag_keys_on_its_values_and_keeps_escaping():
    fragments.clear()
    template = Template('{% load fragment_tags %}{% fragment "t" since %}{{ text }}{% endfragment %}')
    first = template.render(Context({"since": 1, "text": "<b>un</b>"}))
    assert first == "&lt;b&gt;un&lt;/b&gt;"
    # Same key: the kept rendering, whatever the context now says.
    assert template.render(Context({"since": 1, "text": "deux"})) == first
    # A new event id: rendered again.
    assert template.render(Context({"since": 2, "text": "deux"})) == "deux"
