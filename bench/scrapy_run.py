"""Scrapy (Debian's python3-scrapy) over the same URLs, results kept in memory.

Usage: python3 scrapy_run.py URLS_FILE ORIGIN CONCURRENCY
The extraction follows FORMAT.md's body rule with parsel (text and h2 blocks of the article
body, whitespace collapsed); it is the peer's equivalent, not newsnap's code.
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


class Bench(scrapy.Spider):
    name = "bench"

    def start_requests(self):
        for u in urls:
            yield scrapy.Request(origin + urlparse(u).path, dont_filter=True)

    def parse(self, response):
        title = response.css('meta[property="og:title"]::attr(content)').get() or ""
        pieces = []
        for block in response.css("div.article__body > div.article__block"):
            kind = block.attrib.get("data-type")
            sel = ".article__text" if kind == "text" else "h1, h2, h3, h4, h5, h6" if kind == "h2" else None
            if sel:
                node = block.css(sel)
                if node:
                    text = WS.sub(" ", " ".join(node[0].xpath(".//text()[not(ancestor::script) and not(ancestor::style)]").getall())).strip()
                    if text:
                        pieces.append(text)
        results.append((title, "".join(pieces)))


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
print(json.dumps({"pages": len(results), "articles": sum(1 for t, b in results if b)}))
