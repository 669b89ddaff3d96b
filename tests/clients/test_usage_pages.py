"""The usage pages: staff's dashboard per client in Django admin and the client admins' own page,
with server-drawn SVG charts and a benchmark that names nobody and hides groups under 5."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from clients import queries, usage
from clients.models import UsageDay
from tests.factories import AdminFactory, ClientFactory, UserFactory


def _day(client, day, **figures):
    return UsageDay.objects.create(client=client, day=day, **figures)


@pytest.fixture
def tenant_with_days():
    tenant = ClientFactory(name="Acme Field Sales")
    today = date.today()
    for back in range(10):
        _day(
            tenant,
            today - timedelta(days=back),
            users=8,
            active_users=6 - back % 3,
            prospects=100 + back,
            requests_prospects=40,
            requests_api=10,
            server_us_prospects=2_000_000,
        )
    return tenant


def _others(n, day, **figures):
    return [_day(ClientFactory(name=f"Rival {i}"), day, **figures) for i in range(n)]


@pytest.mark.django_db
def test_a_client_admin_sees_their_usage_charts(
    client, tenant_with_days, django_assert_max_num_queries
):
    admin = AdminFactory(client=tenant_with_days)
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin_tasks:usage"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 4
    assert "Requests a day, by part of the product" in html
    # The screen reader description carries the latest figures.
    assert "Prospects: latest 100" in html
    assert "<script" not in html.split("<main", 1)[1]
    assert 'style="' not in html.split("<main", 1)[1]


@pytest.mark.django_db
def test_members_and_visitors_cannot_open_the_usage_page(client, tenant_with_days):
    url = reverse("admin_tasks:usage")
    assert client.get(url).status_code == 302  # to sign in
    client.force_login(UserFactory(client=tenant_with_days))
    response = client.get(url)
    assert response.status_code == 403
    assert b"<svg" not in response.content


@pytest.mark.django_db
def test_staff_open_each_clients_usage_dashboard_in_admin(client, sam, tenant_with_days):
    client.force_login(sam)
    change = client.get(reverse("admin:clients_client_change", args=[tenant_with_days.pk]))
    dashboard = reverse("admin:clients_client_usage", args=[tenant_with_days.pk])
    assert dashboard in change.content.decode()
    response = client.get(dashboard)
    assert response.status_code == 200
    assert response.content.decode().count('<svg class="chart"') == 4
    assert client.get(reverse("admin:clients_client_usage", args=[987654])).status_code == 404


@pytest.mark.django_db
def test_no_benchmark_against_fewer_than_five_clients_of_the_size(client, tenant_with_days):
    today = date.today()
    _others(3, today, users=10, active_users=9, prospects=777_777)  # with Acme: 4
    _others(6, today, users=300, prospects=5)  # another size: never in this group
    usage.usage_benchmarks_compute(today)
    admin = AdminFactory(client=tenant_with_days)
    client.force_login(admin)
    html = client.get(reverse("admin_tasks:usage")).content.decode()
    assert "Fewer than 5 companies have 6 to 20 users" in html
    assert "777" not in html and "777.8" not in html
    assert "Rival" not in html
    assert queries.usage_benchmark(tenant_with_days).lines == []


@pytest.mark.django_db
def test_the_benchmark_shows_quartiles_of_five_or_more_and_names_no_one(client, tenant_with_days):
    today = date.today()
    for i, prospects in enumerate([10, 20, 30, 40]):
        _day(ClientFactory(name=f"Rival {i}"), today, users=12, prospects=prospects)
    _day(ClientFactory(name="Giant"), today, users=900, prospects=1_000_000)
    assert usage.usage_benchmarks_compute(today) == len(usage.METRICS)  # the giant's group: 1
    benchmark = queries.usage_benchmark(tenant_with_days)
    assert (benchmark.shown, benchmark.group, benchmark.size) == (True, 5, "6 to 20 users")
    line = next(line for line in benchmark.lines if line.label == "Prospects")
    assert (line.value, line.q1, line.median, line.q3) == (100, 20, 30, 40)

    client.force_login(AdminFactory(client=tenant_with_days))
    html = client.get(reverse("admin_tasks:usage")).content.decode()
    assert "against the 5 companies (yours included) with 6 to 20 users" in html
    assert "Rival" not in html and "Giant" not in html
    assert "1000000" not in html


@pytest.mark.django_db
def test_a_client_with_no_usage_yet_gets_a_clear_page(client):
    admin = AdminFactory()
    client.force_login(admin)
    response = client.get(reverse("admin_tasks:usage"))
    assert response.status_code == 200
    assert "No usage recorded yet" in response.content.decode()
    assert "Nothing to compare yet." in response.content.decode()


@pytest.mark.django_db
def test_one_clients_days_never_show_on_anothers_page(client, tenant_with_days):
    other = ClientFactory()
    _day(other, date.today(), users=3, prospects=424242)
    client.force_login(AdminFactory(client=other))
    html = client.get(reverse("admin_tasks:usage")).content.decode()
    assert "Prospects: latest 424.242k" in html
    assert "Prospects: latest 100" not in html
