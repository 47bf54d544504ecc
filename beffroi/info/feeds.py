"""RSS 2.0 and Atom feeds of a commune's publications."""

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed

from beffroi.info import selectors

FEED_SIZE = 30


class PostsFeed(Feed):
    def get_object(self, request, *args, **kwargs):
        return request.commune

    def title(self, commune):
        return f"{commune.name} — informations de la commune"

    def link(self, commune):
        return "/"

    def description(self, commune):
        return f"Actualités, manifestations, travaux et alertes de {commune.name}."

    def items(self, commune):
        return selectors.public_posts(commune).order_by("-published_at")[:FEED_SIZE]

    def item_title(self, post):
        prefix = {"alert": "Alerte", "event": "Manifestation", "works": "Travaux"}.get(post.kind)
        return f"{prefix} : {post.title}" if prefix else post.title

    def item_description(self, post):
        return post.summary or post.body[:500]

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return post.updated_at

    def item_categories(self, post):
        return [post.get_kind_display()] + ([post.topic.name] if post.topic_id else [])

    def item_guid(self, post):
        return f"beffroi:post:{post.pk}"

    item_guid_is_permalink = False


class AtomPostsFeed(PostsFeed):
    feed_type = Atom1Feed

    def subtitle(self, commune):
        return self.description(commune)
