"""The notice of a material policy change becomes a Notice (policy_version set) with one
NoticeDelivery per user told, so one mechanism mails notices and shows their banner; the old
PolicyNotice rows move there and the model goes."""

import datetime

from django.db import migrations


def forwards(apps, schema_editor):
    PolicyVersion = apps.get_model("privacy", "PolicyVersion")
    PolicyNotice = apps.get_model("privacy", "PolicyNotice")
    Notice = apps.get_model("privacy", "Notice")
    NoticeDelivery = apps.get_model("privacy", "NoticeDelivery")
    told = PolicyNotice.objects.values_list("version_id", flat=True).distinct()
    versions = PolicyVersion.objects.filter(pk__in=told) | PolicyVersion.objects.filter(
        published_at__isnull=False, material=True
    )
    for version in versions.distinct():
        notices = PolicyNotice.objects.filter(version=version)
        first = notices.order_by("notified_at").values_list("notified_at", flat=True).first()
        notice, _ = Notice.objects.get_or_create(
            policy_version=version,
            defaults={
                "title": f"Our privacy policy changes on {version.effective_on:%-d %B %Y}",
                "body": f"{version.summary}\n\n[Read what changes](/privacy/versions/{version.label}/)",
                "audience": "all",
                "current_until": datetime.datetime.combine(
                    version.effective_on, datetime.time.min, tzinfo=datetime.UTC
                ),
                "created_by_id": version.published_by_id,
                "sent_at": first or version.notified_at or version.published_at,
            },
        )
        NoticeDelivery.objects.bulk_create(
            [
                NoticeDelivery(notice=notice, user_id=row.user_id, delivered_at=row.notified_at)
                for row in notices.iterator(chunk_size=2000)
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )


def backwards(apps, schema_editor):
    Notice = apps.get_model("privacy", "Notice")
    NoticeDelivery = apps.get_model("privacy", "NoticeDelivery")
    PolicyNotice = apps.get_model("privacy", "PolicyNotice")
    for notice in Notice.objects.filter(policy_version__isnull=False):
        PolicyNotice.objects.bulk_create(
            [
                PolicyNotice(
                    version_id=notice.policy_version_id,
                    user_id=d.user_id,
                    notified_at=d.delivered_at,
                )
                for d in NoticeDelivery.objects.filter(notice=notice)
            ],
            ignore_conflicts=True,
        )
    Notice.objects.filter(policy_version__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0007_communications")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="PolicyNotice"),
    ]
