"""Scrapy (Debian's python3-scrapy) over the same URLs, results kept in memory.

Usage: /usr/bin/python3 scrapy_run.py URLS_FILE ORIGIN CONCURRENCY

The spider extracts the fields newsnap extracts, by FORMAT.md's rules, with parsel (the peer's
own equivalent, not newsnap's code): the article URL (og:url, then the canonical link, of the
site), the date (article:published_time, then JSON-LD datePublished, then the URL's day), the
title (og:title, then the headline, then <title> without its tail), og:site_name, the
description, the image, and the body (text and heading blocks of the article body, scripts and
styles dropped, <br> a space, whitespace collapsed). A page is an article when it has URL, title,
date and body. Prints {"pages", "articles"}.
"""
import json
import re
import sys
from urllib.parse import urlparse

import scrapy
from scrapy.crawler import CrawlerProcess

urls_file, origin, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3])
urls = [u for u in open(urls_file, encoding="utf-8").read().split("\n") if u]
results = []
WS = re.compile(r"\s+")
ARTICLE = re.compile(r"^https://(?:www\.)?anlatilaninotesi\.com\.tr/(?:amp/)?(\d{8})/[A-Za-z0-9-]+-(\d{10})\.html$")
TITLE_TAIL = re.compile(r"\s+-\s+\d{2}\.\d{2}\.\d{4},\s+Sputnik Türkiye$")
DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})")
TEXT = ".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript) and not(ancestor::template)] | .//br"


def norm(s):
    return WS.sub(" ", s or "").strip()


def text_of(sel):
    # <br> counts as a space, as in newsnap and a browser's textContent with line breaks.
    parts = [" " if isinstance(n.root, str) is False and getattr(n.root, "tag", "") == "br" else n.get() for n in sel.xpath(TEXT)]
    return norm("".join(parts))


def meta(response, attr, key):
    for v in response.xpath(f'//meta[@{attr}="{key}"]/@content').getall():
        if norm(v):
            return norm(v)
    return None


def day_of(value):
    m = DATE.match(value or "")
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


class Bench(scrapy.Spider):
    name = "bench"

    def start_requests(self):
        for u in urls:
            yield scrapy.Request(origin + urlparse(u).path, dont_filter=True, cb_kwargs={"site_url": u})

    def parse(self, response, site_url):
        declared = meta(response, "property", "og:url") or norm(response.xpath('//link[@rel="canonical"]/@href').get())
        m = ARTICLE.match(declared or "") or ARTICLE.match(site_url)
        url = m.group(0) if m else None
        title = meta(response, "property", "og:title") or text_of(response.css("h1.article__title")[:1]) or TITLE_TAIL.sub("", text_of(response.css("title")[:1]))
        date = day_of(meta(response, "property", "article:published_time"))
        if not date:
            for block in response.xpath('//script[@type="application/ld+json"]/text()').getall():
                try:
                    date = day_of(json.loads(block).get("datePublished"))
                except (ValueError, AttributeError):
                    date = None
                if date:
                    break
        if not date and m:
            date = day_of(m.group(1))
        pieces = []
        body = response.css("div.article__body")[:1]
        for block in body.xpath("./div[contains(concat(' ', normalize-space(@class), ' '), ' article__block ')]"):
            kind = block.attrib.get("data-type")
            sel = ".article__text" if kind == "text" else "h1, h2, h3, h4, h5, h6" if kind == "h2" else None
            if sel:
                text = text_of(block.css(sel)[:1])
                if text:
                    pieces.append(text)
        article = {
            "url": url,
            "date": date,
            "title": title,
            "siteName": meta(response, "property", "og:site_name"),
            "description": meta(response, "name", "description") or meta(response, "property", "og:description"),
            "image": meta(response, "property", "og:image") or meta(response, "name", "twitter:image"),
            "body": "".join(pieces),
        }
        results.append(article if article["url"] and article["title"] and article["date"] and article["body"] else None)


process = CrawlerProcess(settings={
    "CONCURRENT_REQUESTS": concurrency,
    "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
    "LOG_LEVEL": "ERROR",
    "ROBOTSTXT_OBEY": False,
    "TELNETCONSOLE_ENABLED": False,
    "HTTPCACHE_ENABLED": False,
    "RETRY_TIMES": 1,
})
process.crawl(Bench)
process.start()
print(json.dumps({"pages": len(results), "articles": sum(1 for r in results if r)}))
