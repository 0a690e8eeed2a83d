from features.declaration import declaration_of
from features.services import feature_create, registration_submit
from tests.factories import catalogue_for, complete_declaration


def test_owner_files_and_submits_a_feature_through_the_pages(client, owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    client.force_login(owner)
    assert client.get("/features/new/").status_code == 200
    feature = feature_create(actor=owner, key="reco", name="Reco", team=team, declaration=declaration)
    assert declaration_of(feature.versions.get()) == declaration
    for url in [
        "/features/",
        "/features/reco/",
        "/features/reco/edit/",
        "/features/reco/versions/1/",
        "/features/reco/diff/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    registration_submit(actor=owner, feature=feature)
    response = client.get("/features/reco/diff/")
    assert response.status_code == 200
