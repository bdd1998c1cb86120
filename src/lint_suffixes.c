/*
 * lint_suffixes: a short list of public suffixes, domains under which
 * anyone can get a site of their own. A wildcard origin over one of them
 * ("*.github.io" after the scheme) trusts every stranger's site there.
 *
 * Where it comes from: the Public Suffix List (https://publicsuffix.org/,
 * public_suffix_list.dat, checked against the 2023-02 release Debian
 * bookworm ships in the `publicsuffix` package). Multi-label suffixes of
 * the ICANN section that people meet most (a one-label one such as *.com is
 * already refused by the loader), then shared-hosting and cloud domains of
 * its private section that CORS policies actually name.
 *
 * Why it is short and compiled in: the full list has about 9,000 rules and
 * changes weekly; corsd should not depend on a data file being installed
 * nor on its freshness to load a policy. A miss here costs a warning, never
 * a wrong decision on the wire. Add an entry when a real policy needs it,
 * exactly as it appears in the Public Suffix List, lowercase.
 */
#include "lint.h"

#include <string.h>

static const char *const suffixes[] = {
    /* ICANN section: second-level registries. */
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "com.au",
    "net.au",
    "co.jp",
    "co.nz",
    "com.br",
    "co.in",
    "co.za",
    "com.cn",
    "com.mx",
    /* Private section: shared hosting, user content and cloud front ends. */
    "github.io",
    "githubusercontent.com",
    "gitlab.io",
    "bitbucket.io",
    "herokuapp.com",
    "herokussl.com",
    "appspot.com",
    "firebaseapp.com",
    "web.app",
    "blogspot.com",
    "translate.goog",
    "azurewebsites.net",
    "azurestaticapps.net",
    "cloudapp.net",
    "cloudfront.net",
    "s3.amazonaws.com",
    "elasticbeanstalk.com",
    "netlify.app",
    "vercel.app",
    "now.sh",
    "pages.dev",
    "workers.dev",
    "trycloudflare.com",
    "ngrok.io",
    "glitch.me",
    "repl.co",
    "onrender.com",
    "fly.dev",
    "readthedocs.io",
    "pythonanywhere.com",
    "myshopify.com",
};

bool lint_is_public_suffix(const char *domain, size_t n)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (strlen(suffixes[i]) == n && memcmp(suffixes[i], domain, n) == 0)
			return true;
	return false;
}

const char *lint_public_suffix_within(const char *domain, size_t n)
{
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t len = strlen(suffixes[i]);

		if (len >= n && memcmp(suffixes[i] + len - n, domain, n) == 0 &&
		    (len == n || suffixes[i][len - n - 1] == '.'))
			return suffixes[i];
	}
	return NULL;
}
