"""The county's accountability settings, created with their defaults on first use."""

from django.db import IntegrityError, transaction

from .models import AccountabilityPolicy


def policy_for(county_id: int) -> AccountabilityPolicy:
    policy = AccountabilityPolicy.objects.filter(county_id=county_id).first()
    if policy is None:
        try:
            with transaction.atomic():
                policy = AccountabilityPolicy.objects.create(county_id=county_id)
            policy.refresh_from_db()  # the defaults as the database typed them (report_by is a time)
        except IntegrityError:
            policy = AccountabilityPolicy.objects.get(county_id=county_id)
    return policy
