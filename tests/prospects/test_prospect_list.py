"""The prospect list: search, filters, sorting, keyset pages, bulk actions, constant queries."""

import re
import uuid

import pytest
from django.urls import reverse

from prospects.models import CustomField, Prospect, ProspectEvent
from tests.factories import ProspectFactory, UserFactory


def _names(response) -> list[str]:
    return re.findall(
        r'<a href="/app/prospects/[0-9a-f-]{36}/">([^<]+)</a>', response.content.decode()
    )


@pytest.fixture
def crowd(personas):
    a = personas.client_a
    return {
        "ravi": ProspectFactory(
            client=a,
            name="Ravi Kumar",
            organisation="Sunrise Traders",
            email="ravi@sunrise.example",
            phones=["+919876543210"],
            status="interested",
            owner=personas.bob,
            tags=["vip"],
        ),
        "anita": ProspectFactory(
            client=a,
            name="Anita Desai",
            organisation="Lotus Foods",
            email="anita@lotus.example",
            phones=["+442079460958"],
            status="new",
            owner=personas.alice,
            custom={"region": "North"},
        ),
        "zed": ProspectFactory(
            client=a,
            name="zed Brown",
            organisation="",
            email="zed@brown.example",
            status="customer",
        ),
        "other": ProspectFactory(
            client=personas.client_b,
            name="Ravi Other",
            email="ravi@other.example",
            phones=["+919876543211"],
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ravi", ["Ravi Kumar"]),
        ("KUM", ["Ravi Kumar"]),
        ("lotus", ["Anita Desai"]),
        ("anita@lot", ["Anita Desai"]),
        ("98765", ["Ravi Kumar"]),
        ("+91 98765 43210", ["Ravi Kumar"]),
        ("7946-0958", ["Anita Desai"]),
        ("z", ["zed Brown"]),
        ("ra", ["Ravi Kumar"]),  # too short for trigrams: the start of the name
        ("um", []),  # ... and only the start
        ("zed@brown.example", ["zed Brown"]),
        ("anita@", ["Anita Desai"]),
        ("Ravi@Sunrise.", ["Ravi Kumar"]),
        ("sunrise.example", []),  # an email is searched by its start, not any part
        ("ravi@sunrise.examplex", []),
        ("nobody", []),
    ],
)
def test_search_by_name_organisation_email_or_any_part_of_a_phone(
    client, personas, crowd, q, expected
):
    client.force_login(personas.bob)
    assert _names(client.get(reverse("prospects:list"), {"q": q})) == expected


@pytest.mark.django_db
def test_filters_by_status_owner_tag_and_custom_field(client, personas, crowd):
    CustomField.objects.create(client=personas.client_a, key="region", label="Region", kind="text")
    client.force_login(personas.bob)
    url = reverse("prospects:list")
    assert _names(client.get(url, {"status": "customer"})) == ["zed Brown"]
    assert _names(client.get(url, {"owner": "me"})) == ["Ravi Kumar"]
    assert _names(client.get(url, {"owner": str(personas.alice.public_id)})) == ["Anita Desai"]
    assert _names(client.get(url, {"owner": "none"})) == ["zed Brown"]
    assert _names(client.get(url, {"tag": "VIP"})) == ["Ravi Kumar"]
    assert _names(client.get(url, {"custom_key": "region", "custom_value": "North"})) == [
        "Anita Desai"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "won"}, "Unknown status"),
        ({"sort": "password"}, "Unknown sort order"),
        ({"after": "not-a-cursor"}, "page link is broken"),
        ({"after": "W10"}, "page link is broken"),
        ({"custom_key": "nope", "custom_value": "x"}, "Unknown custom field"),
        ({"owner": "not-a-uuid"}, "Unknown owner"),
        ({"q": "\x00abc"}, "NUL character"),  # PostgreSQL text cannot hold it
        ({"tag": "\x00"}, "NUL character"),
        ({"custom_key": "region", "custom_value": "North\x00"}, "NUL character"),
        # a forged cursor whose value holds a NUL
        ({"after": "WyJcdTAwMDAiLDFd"}, "page link is broken"),
    ],
)
def test_a_bad_query_string_shows_a_message_not_an_error(client, personas, crowd, params, message):
    client.force_login(personas.bob)
    response = client.get(reverse("prospects:list"), params)
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.django_db
def test_sorting(client, personas, crowd):
    client.force_login(personas.bob)
    url = reverse("prospects:list")
    assert _names(client.get(url)) == ["Anita Desai", "Ravi Kumar", "zed Brown"]  # case-insensitive
    assert _names(client.get(url, {"sort": "-name"})) == ["zed Brown", "Ravi Kumar", "Anita Desai"]
    assert _names(client.get(url, {"sort": "created"})) == [
        "Ravi Kumar",
        "Anita Desai",
        "zed Brown",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("sort", ["name", "-name", "-updated", "created"])
def test_keyset_pages_walk_every_row_once_forwards_and_back(client, personas, sort):
    for i in range(60):
        ProspectFactory(client=personas.client_a, name=f"Person {i % 7:02d}")  # ties on name
    client.force_login(personas.bob)
    url, seen, pages, params = reverse("prospects:list"), [], [], {"sort": sort}
    while True:
        response = client.get(url, params)
        html = response.content.decode()
        ids = re.findall(r'name="selected" value="([0-9a-f-]{36})"', html) or re.findall(
            r'/app/prospects/([0-9a-f-]{36})/"', html
        )
        pages.append(ids)
        seen += ids
        nxt = re.search(r'href="\?[^"]*after=([\w-]+)"', html)
        if not nxt:
            break
        params = {"sort": sort, "after": nxt.group(1)}
    assert len(seen) == 60 == len(set(seen))
    assert [len(p) for p in pages] == [25, 25, 10]
    prev = re.search(r'href="\?[^"]*before=([\w-]+)"', html).group(1)
    back = client.get(url, {"sort": sort, "before": prev}).content.decode()
    assert re.findall(r'/app/prospects/([0-9a-f-]{36})/"', back) == pages[1]


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 50])
def test_the_list_runs_a_constant_number_of_queries(
    client, personas, django_assert_max_num_queries, rows
):
    CustomField.objects.create(client=personas.client_a, key="region", label="Region", kind="text")
    owners = UserFactory.create_batch(3, client=personas.client_a)
    for i in range(rows):
        ProspectFactory(
            client=personas.client_a,
            owner=owners[i % 3],
            phones=[f"+9198765{i:05d}"],
            custom={"region": "North"},
        )
    client.force_login(personas.alice)
    client.get(reverse("dashboard"))
    # user+client, savepoint, tenant scope set, custom fields and users (the filters' choices,
    # read once: then from the cache), the page of prospects with owners and phones (its ids
    # picked in a subquery, the phones an array per row), tenant scope reset (a savepoint of the
    # test's transaction; a real request's COMMIT ends the scope instead), release
    with django_assert_max_num_queries(8):
        response = client.get(reverse("prospects:list"), {"q": "", "sort": "-updated"})
    assert len(_names(response)) == min(rows, 25)
    html = response.content.decode()
    for owner in owners:  # in the owner filter and in the bulk form's owner choice
        assert html.count(f'<option value="{owner.public_id}"') == 2
    assert 'name="owner" aria-label="Assign to"' in html  # every select says what it is for
    assert 'name="status" aria-label="New status"' in html
    # the same without the choices, cached now; a phone search picks its ids in the same query
    with django_assert_max_num_queries(6):
        client.get(reverse("prospects:list"), {"q": "98765"})
    with django_assert_max_num_queries(6):  # the field's definition is not read a second time
        response = client.get(
            reverse("prospects:list"), {"custom_key": "region", "custom_value": "North"}
        )
    assert len(_names(response)) == min(rows, 25)


@pytest.mark.django_db
def test_an_admin_assigns_and_changes_status_in_bulk(client, personas, crowd):
    client.force_login(personas.alice)
    ids = [str(crowd["ravi"].public_id), str(crowd["zed"].public_id)]
    response = client.post(
        reverse("prospects:bulk"),
        {"action": "assign", "owner": str(personas.alice.public_id), "selected": ids},
        follow=True,
    )
    assert "2 prospect(s) updated" in response.content.decode()
    assert set(Prospect.objects.filter(owner=personas.alice).values_list("name", flat=True)) == {
        "Ravi Kumar",
        "zed Brown",
        "Anita Desai",
    }
    client.post(reverse("prospects:bulk"), {"action": "status", "status": "lost", "selected": ids})
    assert set(Prospect.objects.filter(status="lost").values_list("name", flat=True)) == {
        "Ravi Kumar",
        "zed Brown",
    }
    assert (
        ProspectEvent.objects.filter(kind="status", prospect=crowd["ravi"]).get().text
        == "Interested → Lost"
    )


@pytest.mark.django_db
def test_bulk_actions_refuse_another_clients_prospects_and_change_nothing(client, personas, crowd):
    client.force_login(personas.alice)
    ids = [str(crowd["ravi"].public_id), str(crowd["other"].public_id)]
    response = client.post(
        reverse("prospects:bulk"),
        {"action": "status", "status": "lost", "selected": ids},
        follow=True,
    )
    assert "do not exist" in response.content.decode()
    assert not Prospect.objects.filter(status="lost").exists()


@pytest.mark.django_db
def test_bulk_actions_are_for_admins(client, personas, crowd):
    client.force_login(personas.bob)
    response = client.post(
        reverse("prospects:bulk"),
        {"action": "status", "status": "lost", "selected": [str(crowd["ravi"].public_id)]},
    )
    assert response.status_code == 403
    assert not Prospect.objects.filter(status="lost").exists()


@pytest.mark.django_db
def test_bulk_with_nothing_selected_or_garbage_ids_says_so(client, personas, crowd):
    client.force_login(personas.alice)
    for data in (
        {"action": "status", "status": "lost"},
        {"action": "status", "status": "lost", "selected": ["x"]},
    ):
        response = client.post(reverse("prospects:bulk"), data, follow=True)
        assert "Select prospects" in response.content.decode()
    assert not Prospect.objects.filter(status="lost").exists()


@pytest.mark.django_db
def test_bulk_refuses_more_than_500_ids_and_an_unknown_owner(client, personas, crowd):
    client.force_login(personas.alice)
    ravi = str(crowd["ravi"].public_id)
    too_many = [ravi, *(str(uuid.uuid4()) for _ in range(500))]
    response = client.post(
        reverse("prospects:bulk"),
        {"action": "status", "status": "lost", "selected": too_many},
        follow=True,
    )
    assert "at most 500 prospects at a time" in response.content.decode()
    assert not Prospect.objects.filter(status="lost").exists()
    stranger = UserFactory(client=personas.client_b)  # another client's user
    for owner in (str(stranger.public_id), str(personas.alice.pk), "nobody"):
        response = client.post(
            reverse("prospects:bulk"),
            {"action": "assign", "owner": owner, "selected": [ravi]},
            follow=True,
        )
        assert "Select a valid choice" in response.content.decode()
    assert Prospect.objects.get(pk=crowd["ravi"].pk).owner_id == crowd["ravi"].owner_id


@pytest.mark.django_db
def test_the_same_id_ticked_twice_counts_once(client, personas, crowd):
    client.force_login(personas.alice)
    ravi = str(crowd["ravi"].public_id)
    response = client.post(
        reverse("prospects:bulk"),
        {"action": "status", "status": "lost", "selected": [ravi, ravi.upper()]},
        follow=True,
    )
    assert "1 prospect(s) updated" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    ["//evil.example/", "https://evil.example/", "/\\evil.example", "a b", "prospects:create"],
)
def test_bulk_and_file_actions_never_redirect_off_site(client, personas, crowd, next_url):
    client.force_login(personas.alice)
    data = {
        "action": "status",
        "status": "lost",
        "selected": [str(crowd["ravi"].public_id)],
        "next": next_url,
    }
    response = client.post(reverse("prospects:bulk"), data)
    assert response["Location"] == reverse("prospects:list")
    assert Prospect.objects.get(pk=crowd["ravi"].pk).status == "lost"


def _row(html: str, name: str) -> str:
    """The table row whose link says `name`."""
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)
    return next(r for r in rows if f">{name}</a>" in r)


@pytest.mark.django_db
def test_every_value_a_row_prints_is_escaped_in_text_and_in_attributes(client, personas):
    """The rows are built in Python (prospect_tags.prospect_rows), not by the template's
    autoescaping: each value it prints, the admin's checkbox label included."""
    owner = UserFactory(client=personas.client_a, full_name="<u>Owen</u>")
    ProspectFactory(
        client=personas.client_a,
        name='"><script>alert(1)</script>',
        organisation="<i>Org</i>",
        email="<em>@x.example",
        tags=["<s>vip</s>"],
        owner=owner,
    )
    client.force_login(personas.alice)
    html = client.get(reverse("prospects:list")).content.decode()
    for raw in ("<script>", "<i>Org", "<em>@", "<s>vip", "<u>Owen"):
        assert raw not in html
    escaped = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f'aria-label="Select {escaped}"' in html
    assert f'/">{escaped}</a> <span class="badge">&lt;s&gt;vip&lt;/s&gt;</span>' in html
    assert "<td>&lt;i&gt;Org&lt;/i&gt;</td>" in html and "<td>&lt;em&gt;@x.example</td>" in html
    assert "<td>&lt;u&gt;Owen&lt;/u&gt;</td>" in html


@pytest.mark.django_db
def test_each_row_shows_its_link_tags_phones_status_owner_and_day(client, personas, crowd):
    ravi = crowd["ravi"]
    ravi.phones.create(client=personas.client_a, number="+442079460958", digits="442079460958")
    nameless = UserFactory(client=personas.client_a, full_name="", email="nameless@acme.example")
    crowd["anita"].owner = nameless
    crowd["anita"].save()
    client.force_login(personas.bob)
    html = client.get(reverse("prospects:list")).content.decode()

    row = _row(html, "Ravi Kumar")
    link = reverse("prospects:detail", args=[ravi.public_id])
    assert f'<a href="{link}">Ravi Kumar</a> <span class="badge">vip</span>' in row
    assert "<td>Sunrise Traders</td>" in row
    # formatted as people write them, in the order they were added
    assert '<td class="nowrap">+91 98765 43210<br>+44 20 7946 0958</td>' in row
    assert '<span class="badge status-interested">Interested</span>' in row
    assert "<td>Bob Member</td>" in row
    assert f'<td class="nowrap">{ravi.updated_at.date().isoformat()}</td>' in row
    assert "<td>nameless@acme.example</td>" in _row(html, "Anita Desai")  # no name: the email
    zed = _row(html, "zed Brown")
    assert "<td>—</td>" in zed  # nobody's
    assert '<td class="nowrap"></td>' in zed  # no phone


@pytest.mark.django_db
def test_row_values_escape_html(client, personas):
    ProspectFactory(client=personas.client_a, name="<b>Bold</b>", organisation="A & B")
    client.force_login(personas.bob)
    html = client.get(reverse("prospects:list")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html and "<td>A &amp; B</td>" in html
    assert "<b>Bold</b>" not in html


@pytest.mark.django_db
def test_the_rows_are_the_same_without_postgresql_arrays(personas, crowd, monkeypatch):
    """The embedded default (SQLite) reads the phones in a second query instead."""
    from prospects import queries

    qs = queries.Prospect.objects.for_client(personas.client_a)
    on_postgres = queries.prospect_page(qs, "name").rows
    monkeypatch.setattr(queries, "is_postgres", lambda: False)
    assert queries.prospect_page(qs, "name").rows == on_postgres
    assert [r["phones"] for r in on_postgres] == [["+44 20 7946 0958"], ["+91 98765 43210"], []]
