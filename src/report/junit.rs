//! `junit.xml`: a testsuite per candor suite, a testcase per trial; a failed
//! gate is a `<failure>` carrying the failure message libtest prints.

use crate::run::results::{RunResults, Status};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn render(r: &RunResults) -> String {
    let mut report = Report::new("candor");
    report.set_time(Duration::from_secs_f64(r.duration_s.max(0.0)));
    let mut names: Vec<&str> = r.trials.iter().map(|t| t.suite.as_str()).collect();
    names.dedup();
    for name in names {
        let mut suite = TestSuite::new(name);
        suite.add_properties([
            Property::new("baseline", r.baseline.model.as_str()),
            Property::new(
                "baseline_persona",
                r.baseline.persona.as_deref().unwrap_or("none"),
            ),
            Property::new("candidate", r.candidate.model.as_str()),
            Property::new(
                "candidate_persona",
                r.candidate.persona.as_deref().unwrap_or("none"),
            ),
            Property::new("seed", r.seed.to_string().as_str()),
            Property::new("candor_version", r.candor.version.as_str()),
            Property::new("candor_commit", r.candor.commit.as_str()),
        ]);
        for t in r.trials.iter().filter(|t| t.suite == name) {
            let status = match t.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Failed => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let message = t.message.clone().unwrap_or_default();
                    s.set_message(message.lines().next().unwrap_or("gate failed"))
                        .set_type(t.criterion.as_str())
                        .set_description(message);
                    s
                }
                Status::Ignored => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message("a count gate is not counted on a cut-down item list (the quick profile or --limit)");
                    s
                }
            };
            let mut case = TestCase::new(t.name.as_str(), status);
            case.set_classname(format!("candor.{}", t.suite));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string().expect("junit serialises") + "\n"
}
