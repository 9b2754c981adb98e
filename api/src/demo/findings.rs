//! The demo township's findings: about one visit in six found something an
//! enterprise, a village or a project site needs, filed that day from the
//! visit's check-in, so station staff have findings to take into the
//! monthly issue list and the map has something to show.
//!
//! Each finding's text is one of a few realistic ones per kind of place and
//! category. Like the visit history, the set is seeded from the person and
//! the month and pushed through the dispatcher, from a client id of its own
//! (so demo databases loaded before findings existed gain them without
//! touching their check-ins), and is idempotent.

use std::collections::HashMap;

use chrono::NaiveDate;
use fieldvisit_sync::places::PlaceKind;
use fieldvisit_sync::protocol::{FindingCreateV1, Mutation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

use super::township::NAMESPACE;
use super::visits::{self, DayPush, Rep};

/// One visit in this many files a finding.
const ONE_IN: u32 = 6;

/// What visits find, by kind of place: (category code, description).
const ENTERPRISE: &[(&str, &str)] = &[
    ("financing", "企业反映流动资金紧张，申请的贷款审批周期长，希望镇里协调银行加快办理。"),
    ("hiring", "企业订单增加，一线用工缺口约三十人，希望帮助对接劳务输出信息。"),
    ("power", "厂区变压器容量不足，用电高峰时段经常跳闸，影响正常生产。"),
    ("fire_safety", "仓库消防通道堆放杂物，部分灭火器过期，已当场提醒企业整改。"),
    ("tax", "企业对增值税留抵退税政策不清楚，希望税务部门上门讲解。"),
    ("water", "厂区供水管道老化漏水，希望供水公司尽快检修。"),
];
const GRID_CELL: &[(&str, &str)] = &[
    ("homestead_dispute", "两户村民因宅基地边界发生纠纷，多次协商未果，希望村委会组织调解。"),
    ("water", "村里自来水管网老化，夏季用水高峰时段水压不足，高处农户经常停水。"),
    ("traffic_safety", "村口路段缺少减速带和警示标志，学生上下学存在安全隐患。"),
    ("property_management", "安置小区路灯损坏多日无人维修，群众意见较大。"),
    ("power", "村东头低压线路老化，雨天经常停电。"),
    ("other", "群众反映村卫生室常用药品种类偏少，希望增加配备。"),
];
const PROJECT_SITE: &[(&str, &str)] = &[
    ("land_compensation", "部分农户对征地补偿标准有异议，希望公开补偿明细并当面解释。"),
    ("dust_environment", "工地裸土未覆盖，运输车辆出场未冲洗，周边扬尘明显。"),
    ("site_selection", "项目配套道路选址涉及部分耕地，群众希望进一步论证。"),
    ("traffic_safety", "施工车辆夜间占道停放，过往车辆存在安全隐患。"),
    ("hiring", "项目用工优先本地群众的承诺落实不到位，村民希望了解招工渠道。"),
];

/// The fixed client id of a representative's findings "phone".
pub fn findings_client(person: Uuid) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("history-findings-client:{person}").as_bytes())
}

/// Files the demo findings for `months` (after `visits::load_history`,
/// whose check-ins they come from) and answers how many were filed now.
pub async fn load_findings(db: &PgPool, months: &[NaiveDate]) -> anyhow::Result<usize> {
    visits::push_history(db, findings_client, |rep| days_of(rep, months)).await
}

/// A representative's findings for `months`, grouped by the day of the
/// visits they come from and synced with them, ids counting from 1.
fn days_of(rep: &Rep, months: &[NaiveDate]) -> Vec<DayPush> {
    let kinds: HashMap<Uuid, PlaceKind> = rep.places.iter().map(|p| (p.id, p.kind)).collect();
    let mut next_id = 1;
    let mut out = Vec::new();
    for day in visits::visit_days(rep.person, visits::history_client(rep.person), &rep.places, months) {
        let mut mutations = Vec::new();
        for visit in day.visits {
            let (hi, lo) = visit.id.as_u64_pair();
            let mut rng = StdRng::seed_from_u64(hi ^ lo);
            if rng.gen_range(0..ONE_IN) != 0 {
                continue;
            }
            let choices = match kinds.get(&visit.place_id) {
                Some(PlaceKind::Enterprise) => ENTERPRISE,
                Some(PlaceKind::ProjectSite) => PROJECT_SITE,
                Some(PlaceKind::GridCell) => GRID_CELL,
                None => continue,
            };
            let (category, description) = choices[rng.gen_range(0..choices.len())];
            let severity = match rng.gen_range(0..10) {
                0..=3 => "low",
                4..=7 => "medium",
                8 => "high",
                _ => "urgent",
            };
            let finding = FindingCreateV1 {
                id: Uuid::new_v5(&NAMESPACE, format!("finding:{}", visit.id).as_bytes()),
                place_id: visit.place_id,
                check_in_id: Some(visit.id),
                category: category.to_owned(),
                description: description.to_owned(),
                severity: severity.to_owned(),
                position: Some(visit.position),
            };
            mutations.push(Mutation {
                id: next_id,
                name: "finding.create.v1".into(),
                args: serde_json::to_value(&finding).expect("args serialise"),
            });
            next_id += 1;
        }
        if !mutations.is_empty() {
            out.push(DayPush { received_at: day.received_at, mutations });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_come_from_a_share_of_visits_with_known_categories() {
        let reps = visits::representatives();
        let months = visits::history_months(fieldvisit_sync::month::Month::parse("2026-12").unwrap());
        let visits: usize = reps
            .iter()
            .map(|r| {
                visits::days_of(r.person, visits::history_client(r.person), &r.places, &months)
                    .iter()
                    .map(|d| d.mutations.len())
                    .sum::<usize>()
            })
            .sum();
        let findings: Vec<FindingCreateV1> = reps
            .iter()
            .flat_map(|r| days_of(r, &months))
            .flat_map(|d| d.mutations)
            .map(|m| serde_json::from_value(m.args).unwrap())
            .collect();
        // About one in six, and the same set every time.
        let n = findings.len();
        assert!(n * 10 >= visits && n * 4 < visits, "{n} findings of {visits} visits");
        let again: usize =
            reps.iter().map(|r| days_of(r, &months).iter().map(|d| d.mutations.len()).sum::<usize>()).sum();
        assert_eq!(again, findings.len());
        let codes: Vec<&str> = ENTERPRISE.iter().chain(GRID_CELL).chain(PROJECT_SITE).map(|(c, _)| *c).collect();
        assert!(findings.iter().all(|f| codes.contains(&f.category.as_str()) && f.check_in_id.is_some()));
        // Every kind of place and every severity is represented.
        for severity in ["low", "medium", "high", "urgent"] {
            assert!(findings.iter().any(|f| f.severity == severity), "{severity}");
        }
        for list in [ENTERPRISE, GRID_CELL, PROJECT_SITE] {
            assert!(findings.iter().any(|f| list.iter().any(|(c, d)| *c == f.category && *d == f.description)));
        }
    }
}
