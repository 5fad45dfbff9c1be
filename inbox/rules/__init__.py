"""Smart rules: a pure engine (no Flask, no database) that the workers and views feed.

``text`` normalises text for matching, ``keywords`` matches keyword lists with a cached
Aho-Corasick automaton, ``engine`` parses SocialHub-shaped rules and evaluates them on an item,
``signals`` tells a message's language and sentiment offline.
"""
