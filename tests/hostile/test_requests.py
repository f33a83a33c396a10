"""What the facade sends a hostile Glance: image ids it gave are quoted into request paths, so
an id such as `../../v3/auth/tokens` names an image, never another path of the server."""

from __future__ import annotations

from glancesync.glance import Target
from glancesync.settings import TargetSettings
from hostile.server import image_record


def test_an_image_id_is_quoted_into_the_request_path(hostile):
    cloud = hostile()
    record = image_record("odd", id="../../v3/auth/tokens")
    cloud.add_region("Odd", images=[record])
    settings = TargetSettings(
        name="evil",
        user=cloud.user,
        password=cloud.password,
        auth_url=cloud.auth_url,
        project=cloud.project,
    )
    image = Target(settings).region("Odd").get_image(record["id"])
    assert image.id == record["id"]
    assert cloud.requests[-1] == "GET /glance/0/v2/images/..%2F..%2Fv3%2Fauth%2Ftokens HTTP/1.1"
