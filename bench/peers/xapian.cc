// xapian - the Xapian peer of the benchmark.
//
//   xapian index DB CORPUS.jsonl   Danish stemmer, positions, one commit
//   xapian query DB QUERIES.txt    top 10 by BM25, one JSON line a query
//
// Queries come in dksearch's syntax (words, OR, "phrases", prefix*), which
// Xapian's QueryParser reads as it stands once AND is the default operator.
#include <jansson.h>
#include <xapian.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

static const char *field(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));
    return s ? s : "";
}

static int build(const std::string &path, const char *corpus)
{
    std::ifstream in(corpus);
    if (!in) {
        std::cerr << "xapian: cannot read " << corpus << "\n";
        return 2;
    }
    Xapian::WritableDatabase db(path, Xapian::DB_CREATE_OR_OVERWRITE);
    Xapian::TermGenerator gen;
    gen.set_stemmer(Xapian::Stem("danish"));
    gen.set_stemming_strategy(Xapian::TermGenerator::STEM_SOME);
    std::string line;
    db.begin_transaction(false);
    while (std::getline(in, line)) {
        json_t *doc = json_loads(line.c_str(), 0, nullptr);
        if (!doc)
            continue;
        Xapian::Document d;
        gen.set_document(d);
        gen.index_text(field(doc, "title"));
        gen.increase_termpos();
        gen.index_text(field(doc, "body"));
        d.set_data(field(doc, "id"));
        json_decref(doc);
        db.add_document(d);
    }
    db.commit_transaction();
    db.commit();
    return 0;
}

static int search(const std::string &path, const char *queries)
{
    std::ifstream in(queries);
    if (!in) {
        std::cerr << "xapian: cannot read " << queries << "\n";
        return 2;
    }
    Xapian::Database db(path);
    Xapian::QueryParser parser;
    parser.set_stemmer(Xapian::Stem("danish"));
    parser.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
    parser.set_default_op(Xapian::Query::OP_AND);
    parser.set_database(db);
    const unsigned flags = Xapian::QueryParser::FLAG_PHRASE | Xapian::QueryParser::FLAG_BOOLEAN |
                           Xapian::QueryParser::FLAG_WILDCARD |
                           Xapian::QueryParser::FLAG_LOVEHATE;
    Xapian::Enquire enquire(db);
    enquire.set_weighting_scheme(Xapian::BM25Weight());
    std::string line;
    while (std::getline(in, line)) {
        json_t *hits = json_array();
        auto started = std::chrono::steady_clock::now();
        try {
            enquire.set_query(parser.parse_query(line, flags));
            Xapian::MSet top = enquire.get_mset(0, 10);
            for (auto it = top.begin(); it != top.end(); ++it)
                json_array_append_new(hits, json_string(it.get_document().get_data().c_str()));
        } catch (const Xapian::Error &e) {
            std::cerr << "xapian: " << line << ": " << e.get_description() << "\n";
        }
        auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started).count();
        json_t *result = json_pack("{s:s, s:I, s:o}", "query", line.c_str(), "took_us",
                                   (json_int_t)took, "hits", hits);
        char *text = json_dumps(result, JSON_COMPACT);
        std::puts(text);
        std::free(text);
        json_decref(result);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (std::strcmp(argv[1], "index") != 0 && std::strcmp(argv[1], "query") != 0)) {
        std::cerr << "usage: xapian index DB CORPUS.jsonl | xapian query DB QUERIES.txt\n";
        return 2;
    }
    try {
        return std::strcmp(argv[1], "index") == 0 ? build(argv[2], argv[3])
                                                  : search(argv[2], argv[3]);
    } catch (const Xapian::Error &e) {
        std::cerr << "xapian: " << e.get_description() << "\n";
        return 2;
    }
}
