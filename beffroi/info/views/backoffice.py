"""Back office of the information feed: editors write, schedule and publish."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from beffroi.core.errors import to_form, to_messages
from beffroi.core.models import JournalEntry
from beffroi.core.permissions import requires
from beffroi.info.forms import PostForm, ScheduleForm
from beffroi.info.lifecycle import POST_LIFECYCLE
from beffroi.info.models import Post
from beffroi.info.services import post_create, post_delete, post_transition, post_update


def _kind(value: str) -> str:
    if value not in Post.Kind.values:
        raise Http404("Type de publication inconnu.")
    return value


@requires("view_backoffice")
def dashboard(request):
    posts = Post.objects.of(request.commune)
    counts = {(row["kind"], row["status"]): row["n"] for row in posts.values("kind", "status").annotate(n=Count("id"))}
    table = [
        {"kind": kind, "label": label, "counts": [counts.get((kind, status), 0) for status in Post.Status.values]}
        for kind, label in Post.Kind.choices
    ]
    context = {
        "table": table,
        "statuses": Post.Status.choices,
        "alerts": posts.current_alerts(),
        "scheduled": posts.filter(status=Post.Status.SCHEDULED).order_by("publish_at")[:10],
        "drafts": posts.filter(status=Post.Status.DRAFT).order_by("-updated_at")[:10],
    }
    return render(request, "backoffice/dashboard.html", context)


@requires("view_backoffice")
def post_list(request):
    posts = Post.objects.of(request.commune).select_related("topic").order_by("-updated_at")
    kind = request.GET.get("type", "")
    status = request.GET.get("etat", "")
    if kind:
        posts = posts.filter(kind=_kind(kind))
    if status:
        if status not in Post.Status.values:
            raise Http404("État inconnu.")
        posts = posts.filter(status=status)
    page = Paginator(posts, 30).get_page(request.GET.get("page"))
    context = {"page": page, "kind": kind, "status": status, "kinds": Post.Kind.choices, "statuses": Post.Status.choices}
    return render(request, "backoffice/post_list.html", context)


def _editor_page(request, form, post=None, status=200):
    context = {
        "form": form,
        "post": post,
        "kind_label": Post.Kind(form.kind).label,
        "actions": [(a, POST_LIFECYCLE.action_labels[a]) for a in POST_LIFECYCLE.allowed_actions(post.status)] if post else [],
        "schedule_form": ScheduleForm(),
        "history": JournalEntry.objects.filter(object_type="info.post", object_id=str(post.pk)).order_by("-seq")[:20]
        if post
        else [],
    }
    return render(request, "backoffice/post_form.html", context, status=status)


@requires("publish")
def post_create_view(request, kind):
    kind = _kind(kind)
    form = PostForm(
        request.POST or None, request.FILES or None, commune=request.commune, kind=kind,
        instance=Post(organisation=request.commune, kind=kind),
    )
    if request.method == "POST" and form.is_valid():
        try:
            post = post_create(
                actor=request.user,
                commune=request.commune,
                kind=kind,
                fields=form.post_fields(),
                sectors=form.cleaned_data.get("sectors", []),
                image=form.clean_image_data,
            )
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Brouillon enregistré. Publiez-le ou programmez-le quand il est prêt.")
            return redirect("backoffice:post_edit", pk=post.pk)
    return _editor_page(request, form, status=400 if form.errors else 200)


@requires("publish")
def post_edit_view(request, pk):
    post = get_object_or_404(Post.objects.of(request.commune), pk=pk)
    form = PostForm(request.POST or None, request.FILES or None, commune=request.commune, kind=post.kind, instance=post)
    if request.method == "POST" and form.is_valid():
        try:
            post = post_update(
                actor=request.user,
                post=post,
                fields=form.post_fields(),
                sectors=form.cleaned_data.get("sectors") if "sectors" in form.fields else None,
                image=form.clean_image_data,
                remove_image=form.cleaned_data.get("image") is False,
            )
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Modifications enregistrées.")
            return redirect("backoffice:post_edit", pk=post.pk)
    post.refresh_from_db()
    return _editor_page(request, form, post=post, status=400 if form.errors else 200)


@require_POST
@requires("publish")
def post_action_view(request, pk):
    post = get_object_or_404(Post.objects.of(request.commune), pk=pk)
    action = request.POST.get("action", "")
    publish_at = None
    if action == "schedule":
        schedule = ScheduleForm(request.POST)
        if not schedule.is_valid():
            messages.error(request, " ".join(schedule.errors["publish_at"]))
            return redirect("backoffice:post_edit", pk=post.pk)
        publish_at = schedule.cleaned_data["publish_at"]
    try:
        post = post_transition(actor=request.user, post=post, action=action, publish_at=publish_at)
    except ValidationError as exc:
        to_messages(request, exc)
    else:
        messages.success(request, f"« {post.title} » : {post.get_status_display().lower()}.")
    return redirect("backoffice:post_edit", pk=post.pk)


@requires("publish")
def post_delete_view(request, pk):
    post = get_object_or_404(Post.objects.of(request.commune), pk=pk)
    if request.method == "POST":
        try:
            post_delete(actor=request.user, post=post)
        except ValidationError as exc:
            to_messages(request, exc)
            return redirect("backoffice:post_edit", pk=post.pk)
        messages.success(request, f"« {post.title} » a été supprimée.")
        return redirect("backoffice:post_list")
    cancel_url = reverse("backoffice:post_edit", kwargs={"pk": post.pk})
    return render(request, "backoffice/confirm_delete.html", {"object": post, "cancel_url": cancel_url})
