"""The attrition notebook's try-it cell (grader.authoring.EXAMPLES) builds its made-up table in
IBM's layout: students who hard-code IBM's column lists must not meet a KeyError there."""
from __future__ import annotations

import numpy as np
import pandas as pd

from grader import authoring, datasets


class _Stop(Exception):
    pass


def test_the_try_it_table_has_ibms_columns_order_and_dtypes():
    seen = {}

    def preprocess(train_df, test_df):
        seen["train"], seen["test"] = train_df, test_df
        raise _Stop

    namespace = {"np": np, "preprocess": preprocess}
    try:
        exec(compile(authoring.EXAMPLES["attrition"], "<try-it>", "exec"), namespace)
    except _Stop:
        pass
    real = datasets.load_attrition(layout="ibm")
    for frame in (seen["train"], seen["test"]):
        assert tuple(frame.columns) == datasets.IBM_ATTRITION_COLUMNS
        assert [str(t) for t in frame.dtypes] == [str(t) for t in real.dtypes]
        for column in real.columns:
            if real[column].dtype.kind in "iu":
                assert real[column].min() <= frame[column].min() <= frame[column].max() \
                    <= real[column].max(), column
            else:
                assert set(frame[column]) <= set(real[column]), column
    df = pd.concat([seen["train"], seen["test"]])
    assert 0.05 < (df["Attrition"] == "Yes").mean() < 0.5
