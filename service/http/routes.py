"""The whole HTTP route table."""

from aiohttp import web

from service.http import (
    commands,
    contract,
    feeds,
    group_reads,
    health,
    live,
    mail_links,
    moderation,
    moderation_queries,
    pages,
    privacy,
    queries,
    reader_actions,
    stream,
    webhooks,
)

SITE = r"{site:[A-Za-z0-9][A-Za-z0-9._~-]{0,127}}"
POST = r"{post:[A-Za-z0-9][A-Za-z0-9._~-]{0,127}}"
# Not `recent`: that is the site's recent comments (whatever the method asked).
COMMENT = r"{comment:(?!recent(?![A-Za-z0-9-]))[A-Za-z0-9-]{1,64}}"
WEBHOOK = r"{webhook:[A-Za-z0-9-]{1,64}}"
BAN = r"{ban:[A-Za-z0-9-]{1,64}}"
MAIL_TOKEN = r"{token:[A-Za-z0-9_.-]{1,1000}}"
GROUP = r"{group:[A-Za-z0-9][A-Za-z0-9._~-]{0,127}}"


def add_routes(app: web.Application) -> None:
    site = f"/v1/sites/{SITE}"
    group = f"/v1/groups/{GROUP}"
    # aiohttp tries the routes under one prefix (`/v1/sites`) in this order: the reads a
    # page makes most, first.
    routes = [
        ("GET", f"{site}/posts/{POST}/comments", queries.get_thread),
        ("POST", f"{site}/posts/{POST}/comments", commands.post_comment),
        ("GET", f"{site}/counts", queries.get_counts),
        ("PUT", f"{site}/posts/{POST}", commands.put_post),
        ("GET", f"{site}/posts/{POST}", queries.get_post),
        ("DELETE", f"{site}/posts/{POST}", commands.delete_post),
        ("DELETE", f"{site}/comments/{COMMENT}", commands.delete_comment),
        ("GET", f"{site}/labels", queries.get_labels),
        ("GET", f"{site}/labels/{{label}}/posts", queries.get_label_posts),
        # Feeds and recent comments; before `comments/{comment}`, which `recent` would match.
        ("GET", f"{site}/posts/{POST}/comments.atom", feeds.get_post_feed),
        ("GET", f"{site}/comments.atom", feeds.get_site_feed),
        ("GET", f"{site}/comments/recent", group_reads.get_recent_comments),
        ("GET", f"{site}/labels/{{label}}/posts.atom", feeds.get_label_feed),
        ("GET", f"{group}/comments/recent", group_reads.get_group_recent_comments),
        ("GET", f"{group}/comments/recent.atom", feeds.get_group_feed),
        ("GET", f"{group}/comments.atom", feeds.get_group_comments_feed),
        ("GET", f"{group}/labels", group_reads.get_group_labels),
        ("GET", f"{group}/labels/{{label}}/posts", group_reads.get_group_label_posts),
        ("GET", "/v1/events", queries.get_events),
        ("GET", "/v1/events/stream", stream.get_event_stream),
        # --- moderation ---
        ("GET", f"{site}/settings", moderation.get_site_settings),
        ("PATCH", f"{site}/settings", moderation.patch_site_settings),
        ("GET", f"{site}/comments/{COMMENT}", moderation_queries.get_comment),
        ("PATCH", f"{site}/comments/{COMMENT}", reader_actions.edit_comment),
        ("POST", f"{site}/comments/{COMMENT}/approve", moderation.approve_comment),
        ("POST", f"{site}/comments/{COMMENT}/reject", moderation.reject_comment),
        ("POST", f"{site}/comments/{COMMENT}/restore", moderation.restore_comment),
        ("POST", f"{site}/comments/{COMMENT}/reports", reader_actions.post_report),
        ("POST", f"{site}/moderation/actions", moderation.post_moderation_actions),
        ("GET", f"{site}/moderation/queue", moderation_queries.get_moderation_queue),
        ("GET", f"{site}/audit", moderation_queries.get_audit),
        ("POST", f"{site}/bans", moderation.post_ban),
        ("GET", f"{site}/bans", moderation.get_bans),
        ("DELETE", f"{site}/bans/{BAN}", moderation.delete_ban),
        ("POST", f"{site}/posts/{POST}/close", moderation.close_thread),
        # --- privacy ---
        ("POST", f"{site}/erasures", privacy.post_erasure),
        ("GET", f"{site}/authors/export", privacy.get_author_export),
        ("POST", f"{site}/authors/export", privacy.post_author_export),
        ("POST", f"{site}/posts/{POST}/reopen", moderation.reopen_thread),
        # --- mail: the links in readers' and moderators' mail ---
        ("GET", f"/v1/mail/links/{MAIL_TOKEN}", mail_links.get_mail_link),
        ("POST", f"/v1/mail/links/{MAIL_TOKEN}", mail_links.post_mail_link),
        ("POST", "/v1/webhooks", webhooks.post_webhook),
        ("GET", "/v1/webhooks", webhooks.get_webhooks),
        ("GET", f"/v1/webhooks/{WEBHOOK}", webhooks.get_webhook),
        ("PATCH", f"/v1/webhooks/{WEBHOOK}", webhooks.patch_webhook),
        ("DELETE", f"/v1/webhooks/{WEBHOOK}", webhooks.delete_webhook),
        ("GET", f"/v1/webhooks/{WEBHOOK}/deliveries", webhooks.get_webhook_deliveries),
        ("POST", f"/v1/webhooks/{WEBHOOK}/replay", webhooks.post_webhook_replay),
        ("POST", f"/v1/webhooks/{WEBHOOK}/secret", webhooks.post_webhook_secret),
        # --- operations ---
        ("GET", "/healthz", health.get_health),
        ("GET", "/readyz", health.get_ready),
        ("GET", "/openapi.yaml", contract.get_openapi),
        ("GET", "/problems/{slug:[a-z-]{1,64}}", contract.get_problem_type),
    ]
    # The embed widget: readers' live comments, the scripts, the demo blog and the console.
    routes += [
        ("GET", f"{site}/posts/{POST}/comments/stream", live.get_comment_stream),
        ("GET", "/embed.js", pages.get_embed_script),
        ("GET", "/embed/labels.js", pages.get_labels_script),
        ("GET", "/embed/count.js", pages.get_count_script),
        ("GET", "/embed/recent.js", pages.get_recent_script),
        ("GET", "/demo", pages.get_demo_page),
        ("GET", "/favicon.ico", pages.get_favicon),
        ("GET", "/admin", pages.get_admin_page),
        ("GET", "/admin/admin.js", pages.get_admin_script),
    ]
    for method, path, handler in routes:
        if method == "GET":  # answers HEAD too
            app.router.add_get(path, handler, name=handler.__name__)
        else:
            app.router.add_route(method, path, handler, name=handler.__name__)
