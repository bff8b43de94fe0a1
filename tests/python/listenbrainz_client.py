"""Drives musiqued's ListenBrainz API with liblistenbrainz, the ListenBrainz
project's own Python client, and prints what it saw as JSON.

    python listenbrainz_client.py BASE_URL TOKEN USER NOW
"""

import json
import sys

import liblistenbrainz
from liblistenbrainz import Listen
from liblistenbrainz.errors import InvalidAuthTokenException, ListenBrainzAPIException


def main():
    base, token, user, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = liblistenbrainz.ListenBrainz(api_base_url=base)
    # Checks the token with GET /1/validate-token first.
    client.set_auth_token(token)

    single = Listen(
        track_name="Get Lucky",
        artist_name="Daft Punk feat. Pharrell Williams",
        release_name="Random Access Memories",
        listened_at=now - 600,
        recording_mbid="5d7d3d2e-8e6f-4c4e-9b1b-3b0a2f8c2e11",
        artist_mbids=["056e4f3e-d505-4dad-8ec1-d04f521cbb56"],
        tags=["disco", "funk"],
        additional_info={
            "duration_ms": 369000,
            "artist_names": ["Daft Punk", "Pharrell Williams", "Nile Rodgers"],
            "submission_client": "liblistenbrainz",
        },
    )
    single_answer = client.submit_single_listen(single)
    # The same listen again (a retry): stored once.
    client.submit_single_listen(single)

    imported = [
        Listen(
            track_name=f"Import Track {index}",
            artist_name="Import Artist",
            release_name="Import Album",
            listened_at=now - 3600 - index * 300,
        )
        for index in range(30)
    ]
    import_answer = client.submit_multiple_listens(imported)

    playing_answer = client.submit_playing_now(Listen(track_name="Windowlicker", artist_name="Aphex Twin"))
    playing = client.get_playing_now(user)

    newest = client.get_listens(user, count=10)
    older = client.get_listens(user, max_ts=newest[-1].listened_at, count=100)
    after = client.get_listens(user, min_ts=now - 3600 - 5 * 300, count=3)
    count = client.get_user_listen_count(user)

    # Delete the oldest listen as read back (it carries its recording_msid), then love a
    # recording by MBID and read the feedback back.
    client.delete_listen(older[-1])
    count_after_delete = client.get_user_listen_count(user)
    client.submit_user_feedback(1, "5d7d3d2e-8e6f-4c4e-9b1b-3b0a2f8c2e11")
    feedback = client.get_user_feedback(user, 1, False)

    invalid = liblistenbrainz.ListenBrainz(api_base_url=base)
    try:
        invalid.set_auth_token("00000000-0000-4000-8000-000000000000")
        invalid_token = "accepted"
    except InvalidAuthTokenException:
        invalid_token = "refused"

    try:
        client.get_listens("somebody-else")
        unknown_user = None
    except ListenBrainzAPIException as error:
        unknown_user = error.status_code

    print(json.dumps({
        "single": single_answer,
        "import": import_answer,
        "playing_now": playing_answer,
        "playing": None if playing is None else [playing.artist_name, playing.track_name],
        "newest": [[listen.listened_at, listen.artist_name, listen.track_name] for listen in newest],
        "older": [listen.listened_at for listen in older],
        "after": [listen.listened_at for listen in after],
        "count": count,
        "deleted": [older[-1].listened_at, older[-1].track_name],
        "count_after_delete": count_after_delete,
        "feedback": [[entry["score"], entry["recording_mbid"]] for entry in feedback["feedback"]],
        "invalid_token": invalid_token,
        "unknown_user": unknown_user,
        "remaining": client.remaining_requests,
    }))


if __name__ == "__main__":
    main()
