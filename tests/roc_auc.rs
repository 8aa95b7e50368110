//! `nn_core::metrics::roc_auc` against scikit-learn's `roc_auc_score`: the literals below are the
//! output of `scripts/reference/roc_auc.py` (scikit-learn 1.9.1, kept in roc_auc.out).
// The scores are f32 values as the script prints them (f64 digits), kept verbatim so the file
// can be checked against roc_auc.out; each rounds to the f32 the script scored.
#![allow(clippy::excessive_precision)]
use constnet::metrics::{roc_auc, AucError, MetricsError};

fn check(scores: &[f32], labels: &[usize], sklearn: f64) {
    let auc = roc_auc(scores, labels).unwrap();
    assert!(
        (auc - sklearn).abs() < 1e-12,
        "{auc} vs scikit-learn {sklearn}"
    );
}

#[test]
fn ties_as_scikit_learn() {
    #[rustfmt::skip]
    let scores = [0.800000011920929, 0.4000000059604645, 0.699999988079071, 0.8999999761581421, 0.6000000238418579, 0.5, 0.800000011920929, 0.699999988079071, 0.5, 0.6000000238418579, 0.699999988079071, 0.10000000149011612, 0.6000000238418579, 0.699999988079071, 0.4000000059604645, 0.5, 0.20000000298023224, 0.699999988079071, 1.0, 0.30000001192092896, 0.5, 0.8999999761581421, 0.6000000238418579, 0.4000000059604645, 0.699999988079071, 0.0, 0.20000000298023224, 0.8999999761581421, 0.20000000298023224, 0.0, 0.8999999761581421, 0.800000011920929, 1.0, 0.800000011920929, 0.8999999761581421, 0.30000001192092896, 0.800000011920929, 0.20000000298023224, 0.800000011920929, 0.699999988079071];
    #[rustfmt::skip]
    let labels = [1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1];
    check(&scores, &labels, 0.5964912280701754);
}

#[test]
fn unbalanced_as_scikit_learn() {
    #[rustfmt::skip]
    let scores = [1.1513005495071411, 1.2158656120300293, -0.38307300209999084, -2.0009403228759766, -0.347988486289978, -1.3912076950073242, -1.3147207498550415, -0.2528270483016968, 1.3604499101638794, -0.09210652858018875, -0.21958014369010925, -1.8504993915557861, -0.6061244606971741, -1.3950831890106201, 0.5203277468681335, -0.5282455682754517, -0.04390937462449074, -0.016708428040146828, -0.18777482211589813, 0.9525678157806396, 0.4867924749851227, -0.3196272850036621, 0.15375912189483643, 0.5527752041816711, 1.3713452816009521, 0.12982802093029022, 1.4476189613342285, -0.5941755175590515, -0.23383170366287231, -1.487204909324646];
    #[rustfmt::skip]
    let labels = [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0];
    check(&scores, &labels, 0.5714285714285714);
}

#[test]
fn constant_as_scikit_learn() {
    #[rustfmt::skip]
    let scores = [0.30000001192092896, 0.30000001192092896, 0.30000001192092896, 0.30000001192092896, 0.30000001192092896, 0.30000001192092896];
    #[rustfmt::skip]
    let labels = [1, 0, 0, 1, 0, 0];
    check(&scores, &labels, 0.5);
}

#[test]
fn reversed_as_scikit_learn() {
    #[rustfmt::skip]
    let scores = [0.8999999761581421, 0.800000011920929, 0.20000000298023224, 0.10000000149011612];
    #[rustfmt::skip]
    let labels = [0, 0, 1, 1];
    check(&scores, &labels, 0.0);
}

#[test]
fn order_of_samples_does_not_matter() {
    let scores = [0.1, 0.4, 0.35, 0.8, 0.4];
    let labels = [0, 0, 1, 1, 1];
    let a = roc_auc(&scores, &labels).unwrap();
    let mut rev_s = scores;
    let mut rev_l = labels;
    rev_s.reverse();
    rev_l.reverse();
    assert_eq!(a, roc_auc(&rev_s, &rev_l).unwrap());
    // By hand: positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4: 0.35 beats 1, 0.8 beats 2,
    // 0.4 beats 1 and ties 1 (half): 4.5 of 6.
    assert_eq!(a, 0.75);
}

#[test]
fn bad_input_is_a_typed_error() {
    assert_eq!(
        roc_auc(&[0.5], &[0, 1]),
        Err(AucError::Metrics(MetricsError::LengthMismatch {
            predictions: 1,
            labels: 2
        }))
    );
    assert_eq!(
        roc_auc(&[0.5, 0.2], &[0, 2]),
        Err(AucError::Metrics(MetricsError::LabelOutOfRange {
            index: 1,
            label: 2,
            classes: 2
        }))
    );
    assert_eq!(
        roc_auc(&[0.5, f32::NAN], &[0, 1]),
        Err(AucError::NaN { index: 1 })
    );
    assert_eq!(
        roc_auc(&[0.5, 0.7], &[0, 0]),
        Err(AucError::OneClass { class: 0 })
    );
    assert_eq!(roc_auc(&[], &[]), Err(AucError::OneClass { class: 0 }));
    assert_eq!(
        roc_auc(&[0.5, 0.7], &[0, 0]).unwrap_err().to_string(),
        "every sample has label 0: ROC AUC needs both classes"
    );
}
