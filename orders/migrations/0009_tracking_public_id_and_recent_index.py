# Tracking.public_id (for the info API's tracking_id lookup) and an index for "newest holders of
# a tracking number first". Existing rows get their own random ids before the column becomes unique.

import secrets

from django.db import migrations, models

import orders.models


def fill_public_ids(apps, schema_editor):
    Tracking = apps.get_model("orders", "Tracking")
    for tracking in Tracking.objects.filter(public_id__isnull=True).only("pk").iterator():
        Tracking.objects.filter(pk=tracking.pk).update(public_id="trk_" + secrets.token_hex(10))


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_notifications_outbox_and_webhooks"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="tracking",
            name="tracking_number_idx",
        ),
        migrations.AddField(
            model_name="tracking",
            name="public_id",
            field=models.CharField(editable=False, max_length=40, null=True, verbose_name="public id"),
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tracking",
            name="public_id",
            field=models.CharField(
                default=orders.models.new_tracking_public_id,
                editable=False,
                max_length=40,
                unique=True,
                verbose_name="public id",
            ),
        ),
        migrations.AddIndex(
            model_name="tracking",
            index=models.Index(fields=["tracking_number", "-created_at"], name="tracking_number_recent_idx"),
        ),
    ]
