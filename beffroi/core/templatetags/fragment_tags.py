"""``{% fragment "name" key1 key2 %}…{% endfragment %}``: see beffroi.core.fragments."""

from django import template

from beffroi.core.fragments import fragments

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, nodelist, name, keys):
        self.nodelist = nodelist
        self.name = name
        self.keys = keys

    def render(self, context):
        key = (self.name, *(str(k.resolve(context)) for k in self.keys))
        # NodeList.render returns a SafeString: what the template escaped stays so.
        return fragments.get_or_build(key, lambda: self.nodelist.render(context))


@register.tag("fragment")
def fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% fragment %} needs a name, then the values that key it.")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, bits[1].strip("\"'"), [parser.compile_filter(b) for b in bits[2:]])
