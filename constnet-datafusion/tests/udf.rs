//! The UDF inside real queries: several Parquet files read by several partitions, both argument
//! forms, nulls, and the planning errors for wrong arguments.
use std::path::PathBuf;
use std::sync::Arc;

use constnet::prelude::*;
use constnet_arrow::ParquetWriter;
use constnet_datafusion::predict_udf;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float32Type};
use datafusion::error::DataFusionError;
use datafusion::prelude::*;

network! {
    #[derive(Clone)]
    pub struct Four { Dense<4, 8, Tanh>, Dense<8, 1, Sigmoid> }
}
network! {
    #[derive(Clone)]
    pub struct Three { Dense<3, 2, Sigmoid> }
}
network! {
    #[derive(Clone)]
    pub struct Classes { Dense<4, 3, Softmax> }
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../constnet-arrow/tests/data")
        .join(name);
    p.to_string_lossy().into_owned()
}

/// Three Parquet files of 1,000, 2,500 and 700 rows (row groups of 300) in a fresh directory.
fn three_files() -> (PathBuf, usize) {
    let dir = std::env::temp_dir().join(format!(
        "constnet-df-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut k = 0u32;
    let mut total = 0;
    for (i, rows) in [1000, 2500, 700].into_iter().enumerate() {
        let x: Vec<[f32; 4]> = (0..rows)
            .map(|_| {
                k += 1;
                std::array::from_fn(|j| ((k * 7 + j as u32 * 13) % 97) as f32 / 24.0 - 2.0)
            })
            .collect();
        let t: Vec<usize> = (0..rows).map(|r| r % 2).collect();
        let mut w = ParquetWriter::<4>::create(dir.join(format!("part-{i}.parquet")))
            .unwrap()
            .row_group_rows(300);
        w.write(&x, &t).unwrap();
        w.finish().unwrap();
        total += rows;
    }
    (dir, total)
}

fn context(partitions: usize) -> SessionContext {
    SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(partitions)
            .with_batch_size(512),
    )
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

async fn planning_error(ctx: &SessionContext, sql: &str) -> String {
    let err: DataFusionError = match ctx.sql(sql).await {
        Err(e) => e,
        Ok(df) => df.collect().await.expect_err("a planning error"),
    };
    assert!(
        matches!(err.find_root(), DataFusionError::Plan(_)),
        "not a planning error: {err:?}"
    );
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scores_every_row_of_several_files_in_several_partitions() {
    let (dir, total) = three_files();
    let net = Four::new(3);
    for partitions in [1, 4] {
        let ctx = context(partitions);
        ctx.register_udf(predict_udf::<Four, _, _>("four", net.clone()));
        ctx.register_parquet("t", dir.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap();
        let plan = ctx
            .sql("SELECT f0, f1, f2, f3, four(f0, f1, f2, f3) AS p FROM t")
            .await
            .unwrap();
        let physical = plan.clone().create_physical_plan().await.unwrap();
        assert_eq!(
            physical
                .properties()
                .output_partitioning()
                .partition_count(),
            partitions
        );
        let batches = plan.collect().await.unwrap();
        let mut n = 0;
        for b in &batches {
            assert_eq!(b.schema().field(4).data_type(), &DataType::Float32);
            let cols: Vec<_> = (0..5)
                .map(|j| b.column(j).as_primitive::<Float32Type>())
                .collect();
            for r in 0..b.num_rows() {
                let x: [f32; 4] = std::array::from_fn(|j| cols[j].value(r));
                let want = net.forward(&x)[0];
                let got = cols[4].value(r);
                // The batched kernels may sum in another order than one-sample forward.
                assert!((got - want).abs() < 1e-6, "{got} vs {want} for {x:?}");
            }
            n += b.num_rows();
        }
        assert_eq!(n, total);
        // An aggregate over the scores runs through the same UDF in every partition.
        let b = rows(&ctx, "SELECT count(*) AS n, avg(CASE WHEN four(f0, f1, f2, f3) > 0.5 THEN 1.0 ELSE 0.0 END) AS pos FROM t").await;
        assert_eq!(
            b[0].column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0),
            total as i64
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn fixed_size_list_form_as_the_scalar_form() {
    let ctx = context(2);
    let net = Four::new(5);
    ctx.register_udf(predict_udf("four", net.clone()));
    ctx.register_parquet("l", &fixture("list.parquet"), ParquetReadOptions::default())
        .await
        .unwrap();
    ctx.register_parquet(
        "s",
        &fixture("scalar.parquet"),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    let mut from_list = Vec::new();
    for b in rows(&ctx, "SELECT four(features) FROM l").await {
        from_list.extend(
            b.column(0)
                .as_primitive::<Float32Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    let mut from_columns = Vec::new();
    for b in rows(&ctx, "SELECT four(a, b, c, d) FROM s").await {
        from_columns.extend(
            b.column(0)
                .as_primitive::<Float32Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    assert_eq!(from_list.len(), 50);
    // Both files hold the same 50 rows in the same order; a single partition per file keeps it.
    let mut a = from_list.clone();
    let mut b = from_columns.clone();
    a.sort_by(f32::total_cmp);
    b.sort_by(f32::total_cmp);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-6);
    }
}

#[tokio::test]
async fn a_null_input_scores_null_and_the_other_rows_as_usual() {
    let ctx = context(1);
    let net = Four::new(5);
    ctx.register_udf(predict_udf("four", net.clone()));
    ctx.register_parquet("n", &fixture("null.parquet"), ParquetReadOptions::default())
        .await
        .unwrap();
    let mut nulls = 0;
    let mut total = 0;
    for b in rows(&ctx, "SELECT a, b, c, d, four(a, b, c, d) AS p FROM n").await {
        let p = b.column(4).as_primitive::<Float32Type>();
        for r in 0..b.num_rows() {
            if b.column(2).is_null(r) {
                assert!(p.is_null(r));
                nulls += 1;
            } else {
                assert!(p.is_valid(r));
                let x: [f32; 4] = std::array::from_fn(|j| {
                    datafusion::arrow::compute::cast(b.column(j), &DataType::Float32)
                        .unwrap()
                        .as_primitive::<Float32Type>()
                        .value(r)
                });
                assert!((p.value(r) - net.forward(&x)[0]).abs() < 1e-6);
            }
        }
        total += b.num_rows();
    }
    assert_eq!((nulls, total), (1, 50));
}

#[tokio::test]
async fn wrong_arguments_are_planning_errors_that_say_what_is_expected() {
    let ctx = context(2);
    ctx.register_udf(predict_udf("four", Four::new(1)));
    ctx.register_udf(predict_udf("three", Three::new(1)));
    ctx.register_parquet(
        "s",
        &fixture("scalar.parquet"),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    ctx.register_parquet("l", &fixture("list.parquet"), ParquetReadOptions::default())
        .await
        .unwrap();
    let e = planning_error(&ctx, "SELECT four(a, b) FROM s").await;
    assert!(e.contains("four() takes 4 numeric feature columns or one FixedSizeList<Float32, 4> column, but was given 2 argument(s)"), "{e}");
    let e = planning_error(&ctx, "SELECT four(a, b, c, id) FROM s").await;
    assert!(e.contains("four() argument 4 is of type Utf8"), "{e}"); // Utf8View in DataFusion 55
    assert!(e.contains("where a number is expected"), "{e}");
    let e = planning_error(&ctx, "SELECT three(features) FROM l").await;
    assert!(
        e.contains("three() takes 3 features, but its list argument has 4 values"),
        "{e}"
    );
}

#[tokio::test]
async fn several_outputs_come_back_as_a_list() {
    let ctx = context(1);
    let net = Classes::new(2);
    ctx.register_udf(predict_udf("classes", net.clone()));
    ctx.register_parquet(
        "s",
        &fixture("scalar.parquet"),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    let b = rows(&ctx, "SELECT classes(a, b, c, d) AS p FROM s LIMIT 3").await;
    let list = b[0].column(0).as_fixed_size_list();
    assert_eq!(list.value_length(), 3);
    let v = list.value(0);
    let p = v.as_primitive::<Float32Type>();
    let sum: f32 = p.values().iter().sum();
    assert!((sum - 1.0).abs() < 1e-5, "softmax outputs sum to 1: {sum}");
    let _ = Arc::new(());
}
