"""Drives musiqued's Last.fm 2.0 API with pylast over HTTPS and prints what it
saw as JSON.

    python lastfm_client.py HOST:PORT API_KEY SECRET USER CA_FILE NOW
"""

import json
import ssl
import sys

import pylast


def network(host, api_key, secret, user, session_key=None, password_hash=None):
    # pylast's Last.fm and Libre.fm networks are _Network with fixed hosts; this
    # is the same with musiqued's address. It always speaks HTTPS.
    return pylast._Network(
        name="musique",
        homepage=f"https://{host}",
        ws_server=(host, "/2.0/"),
        api_key=api_key,
        api_secret=secret,
        session_key=session_key,
        username=user,
        password_hash=password_hash,
        domain_names={},
        urls={},
    )


def main():
    host, api_key, secret, user, ca_file, now = sys.argv[1:6] + [int(sys.argv[6])]
    # Trust the test's self-signed certificate.
    pylast.SSL_CONTEXT = ssl.create_default_context(cafile=ca_file)

    # User name and password: pylast signs in with auth.getMobileSession
    # (authToken = md5(user + md5(password))); the password is the shared secret.
    mobile = network(host, api_key, secret, user, password_hash=pylast.md5(secret))
    mobile.update_now_playing(artist="Aphex Twin", title="Xtal", album="Selected Ambient Works 85-92", duration=291)
    mobile.scrobble(artist="BANKS", title="Love Is Unkind", timestamp=now - 1200, album="Off With Her Head")
    # 60 scrobbles: pylast sends a batch of 50, then one of 10.
    mobile.scrobble_many([
        {"artist": "Batch Artist", "title": f"Song {index}", "timestamp": now - 7200 - index * 240, "duration": 200}
        for index in range(60)
    ])
    playcount = mobile.get_user(user).get_playcount()
    mobile.get_track("BANKS", "Love Is Unkind").love()

    # Reads without a session are not signed: what plays now, and every recent track,
    # page after page.
    reader = network(host, api_key, secret, user)
    playing = reader.get_user(user).get_now_playing()
    recent = reader.get_user(user).get_recent_tracks(limit=None, cacheable=False)

    # The desktop flow: auth.getToken, the auth page, auth.getSession.
    web = network(host, api_key, secret, user)
    generator = pylast.SessionKeyGenerator(web)
    url = generator.get_web_auth_url()
    web_key = generator.get_web_auth_session_key(url)
    web.session_key = web_key
    web.scrobble(artist="Mk.gee", title="You", timestamp=now - 900)

    wrong_password = None
    try:
        network(host, api_key, secret, user, password_hash=pylast.md5("not the secret"))
    except pylast.WSError as error:
        wrong_password = int(error.get_id())

    wrong_secret = None
    try:
        network(host, api_key, "0" * 32, user, session_key=web_key).scrobble(artist="X", title="Y", timestamp=now - 60)
    except pylast.WSError as error:
        wrong_secret = int(error.get_id())

    print(json.dumps({
        "mobile_session": bool(mobile.session_key),
        "web_url": url,
        "web_session": bool(web_key) and web_key != mobile.session_key,
        "playcount": playcount,
        "now_playing": None if playing is None else [str(playing.artist), playing.title],
        "recent": [[int(played.timestamp), str(played.track.artist), played.track.title] for played in recent],
        "wrong_password": wrong_password,
        "wrong_secret": wrong_secret,
    }))


if __name__ == "__main__":
    main()
