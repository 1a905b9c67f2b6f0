"""Record → LinkedIn conversion event, or a Rejection a marketer can read (docs/mapping.md).

Pure: no I/O and nothing of Airbyte, so the writer, dry runs and tests share one behaviour. `mapper.RecordMapper`
is the entry point; `normalize` holds the field rules, `reasons` the rejection codes and their sentences.
"""
