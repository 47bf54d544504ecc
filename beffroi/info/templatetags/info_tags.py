from django import template
from django.core.files.storage import default_storage
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# CommonMark without raw HTML: editors' text cannot inject markup or scripts;
# markdown-it refuses javascript: and data: links by itself.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


@register.filter
def markdown(text: str) -> str:
    # Safe: raw HTML is disabled in the parser above.
    return mark_safe(_markdown.render(text or ""))


@register.filter
def rendition_url(post, width: int) -> str:
    widths = post.rendition_widths()
    if not widths:
        return post.image.url if post.image else ""
    chosen = next((w for w in widths if w >= int(width)), widths[-1])
    return default_storage.url(post.image_renditions[str(chosen)])


@register.filter
def srcset(post) -> str:
    return ", ".join(f"{default_storage.url(post.image_renditions[str(w)])} {w}w" for w in post.rendition_widths())
