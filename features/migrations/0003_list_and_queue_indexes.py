# The feature list's and the review queue's orders, read from indexes (tests/load/benchmark_pages.py).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('features', '0002_findings_and_decisions'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='feature',
            index=models.Index(fields=['name', 'id'], name='feature_list_order'),
        ),
        migrations.AddIndex(
            model_name='feature',
            index=models.Index(fields=['team', 'name', 'id'], name='feature_team_list_order'),
        ),
        migrations.AddIndex(
            model_name='registration',
            index=models.Index(condition=models.Q(('status', 'submitted')), fields=['submitted_at', 'id'], name='registration_review_queue'),
        ),
    ]
