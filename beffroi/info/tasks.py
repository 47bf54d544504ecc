"""Background jobs of the information feed, run by the worker."""

from django_tasks import task


@task()
def apply_due_changes() -> dict:
    from beffroi.info.services import apply_due_changes

    return apply_due_changes()


@task()
def push_post(post_id: int) -> dict:
    from beffroi.info.push import push_post

    return push_post(post_id=post_id)


@task()
def push_retry(post_id: int, endpoints: list[str], attempt: int) -> dict:
    from beffroi.info.push import push_post

    return push_post(post_id=post_id, only_endpoints=endpoints, attempt=attempt)
