"""Generate the ILLUSTRATIVE sample geodata for `zoning`.

Run from the repository root:

    python sample_geodata/make_sample.py

It writes, next to this script:

* ``units.gpkg``    layer ``units``: environmental management units (环境管控单元)
* ``zones.gpkg``    layer ``zones``: overlay zones (water sources, fuel-ban, red line, river buffers,
  an industrial park; the river channels are lines, their centrelines)
* ``registry.csv``  about 200 fictitious projects for batch screening

Nothing here is an official dataset. Place names and administrative codes are
real (GB/T 2260), but every boundary is a rough sketch: counties are Voronoi
cells around hand-placed seed points, and lakes, rivers, parks and protection
zones are hand-drawn approximations. Company and project names are invented.

The output is deterministic (fixed seed, fixed construction order). All
geometry is built in CGCS2000 longitude/latitude (EPSG:4490); distances
(buffers) and areas are computed in an Albers equal-area projection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Fix the timestamp GDAL writes into GeoPackage metadata so reruns differ as little as possible.
os.environ.setdefault("OGR_CURRENT_DATE", "2024-01-01T00:00:00Z")

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon

HERE = Path(__file__).resolve().parent
SEED = 20210630
GEOGRAPHIC = "EPSG:4490"
EQUAL_AREA = "+proj=aea +lat_0=0 +lon_0=117 +lat_1=37 +lat_2=41 +ellps=GRS80 +units=m +no_defs +type=crs"
GRID = 1e-7  # snapping grid for overlays, in degrees (about 1 cm)
MIN_PIECE_M2 = 0.5e6  # a feature's piece inside one county smaller than this stays in the remainder
NOTE = "示例数据（illustrative sample data），非官方成果，边界为示意性近似"

_FWD = Transformer.from_crs(GEOGRAPHIC, EQUAL_AREA, always_xy=True)
_INV = Transformer.from_crs(EQUAL_AREA, GEOGRAPHIC, always_xy=True)


# ---------------------------------------------------------------------------
# geometry helpers


def to_m(geom):
    """Lon/lat geometry to equal-area metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_FWD.transform(xy[:, 0], xy[:, 1])))


def to_ll(geom):
    """Equal-area metres back to lon/lat, snapped to the grid."""
    out = shapely.transform(geom, lambda xy: np.column_stack(_INV.transform(xy[:, 0], xy[:, 1])))
    return shapely.set_precision(out, GRID)


def area_m2(geom) -> float:
    return float(to_m(geom).area)


def polygonal(geom):
    """Keep only the polygonal parts of an overlay result, as a MultiPolygon."""
    parts = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
        elif isinstance(part, MultiPolygon):
            parts.extend(p for p in part.geoms if not p.is_empty)
    return MultiPolygon(parts)


def inter(a, b):
    return polygonal(shapely.intersection(a, b, grid_size=GRID))


def diff(a, b):
    return polygonal(shapely.difference(a, b, grid_size=GRID))


def union(geoms):
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return MultiPolygon()
    return polygonal(shapely.union_all(geoms, grid_size=GRID))


def poly(coords, step=0.01):
    """A hand-drawn lon/lat polygon, densified so its edges follow the ground."""
    return shapely.set_precision(shapely.segmentize(Polygon(coords), step), GRID)


def buffer_m(geom, metres, quad_segs=4):
    """Buffer a lon/lat geometry by a distance in metres."""
    grown = to_m(geom).buffer(metres, quad_segs=quad_segs)
    return to_ll(shapely.segmentize(grown, 1500.0))


def ellipse(lon, lat, a_m, b_m, angle_deg, n=24):
    """An ellipse of semi-axes a_m, b_m (metres) rotated angle_deg from east, as lon/lat."""
    cx, cy = _FWD.transform(lon, lat)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ang = np.radians(angle_deg)
    x = a_m * np.cos(t)
    y = b_m * np.sin(t)
    xs = cx + x * np.cos(ang) - y * np.sin(ang)
    ys = cy + x * np.sin(ang) + y * np.cos(ang)
    return to_ll(Polygon(np.column_stack([xs, ys])))


def circle(lon, lat, r_m, n=28):
    return ellipse(lon, lat, r_m, r_m, 0, n)


# ---------------------------------------------------------------------------
# the two clusters: outline, counties (seed points for Voronoi cells)

CLUSTERS = {
    "baoding": {
        "city": "保定市",
        "outline": [
            (115.12, 38.80),
            (115.13, 38.98),
            (115.25, 39.10),
            (115.45, 39.13),
            (115.58, 39.20),
            (115.62, 39.32),
            (115.74, 39.42),
            (115.92, 39.43),
            (116.06, 39.33),
            (116.16, 39.20),
            (116.25, 39.08),
            (116.26, 38.95),
            (116.18, 38.84),
            (116.06, 38.74),
            (115.95, 38.66),
            (115.85, 38.55),
            (115.72, 38.40),
            (115.55, 38.36),
            (115.42, 38.42),
            (115.35, 38.56),
            (115.30, 38.66),
            (115.18, 38.72),
        ],
        # code, name, seed points (approximate county seats / centres)
        "counties": [
            ("130602", "竞秀区", [(115.43, 38.90)]),
            ("130606", "莲池区", [(115.52, 38.85)]),
            ("130607", "满城区", [(115.32, 38.95), (115.20, 38.88)]),
            ("130608", "清苑区", [(115.49, 38.76), (115.40, 38.64)]),
            ("130609", "徐水区", [(115.65, 39.02), (115.74, 39.12)]),
            ("130626", "定兴县", [(115.80, 39.27)]),
            ("130628", "高阳县", [(115.78, 38.69)]),
            ("130629", "容城县", [(115.86, 39.05)]),
            ("130632", "安新县", [(115.93, 38.91), (116.00, 38.85)]),
            ("130635", "蠡县", [(115.58, 38.49)]),
            ("130638", "雄县", [(116.10, 38.99)]),
            ("130684", "高碑店市", [(115.87, 39.33), (116.05, 39.19)]),
        ],
    },
    "tangshan": {
        "city": "唐山市",
        "outline": [
            (117.92, 39.55),
            (118.00, 39.70),
            (118.15, 39.80),
            (118.28, 39.84),
            (118.42, 39.82),
            (118.52, 39.70),
            (118.62, 39.64),
            (118.80, 39.60),
            (119.00, 39.57),
            (119.18, 39.52),
            (119.32, 39.45),
            (119.28, 39.36),
            (119.12, 39.24),
            (119.00, 39.16),
            (118.82, 39.14),
            (118.68, 39.10),
            (118.62, 38.98),
            (118.55, 38.92),
            (118.42, 38.92),
            (118.36, 39.02),
            (118.22, 39.08),
            (118.05, 39.12),
            (117.95, 39.20),
            (117.90, 39.38),
        ],
        "counties": [
            ("130202", "路南区", [(118.17, 39.61)]),
            ("130203", "路北区", [(118.19, 39.66)]),
            ("130207", "丰南区", [(118.08, 39.57), (118.08, 39.36), (118.12, 39.20)]),
            ("130209", "曹妃甸区", [(118.45, 39.27), (118.33, 39.12), (118.52, 39.00)]),
            ("130224", "滦南县", [(118.68, 39.50), (118.45, 39.56), (118.70, 39.30)]),
            ("130225", "乐亭县", [(118.91, 39.43), (119.12, 39.38), (119.00, 39.24)]),
        ],
    },
}

PROVINCE = "河北省"
TYPE_WORD = {1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}


# ---------------------------------------------------------------------------
# hand-drawn features (all approximate)

BAIYANGDIAN_LAKE = [
    (115.945, 38.945),
    (115.975, 38.962),
    (116.010, 38.968),
    (116.050, 38.962),
    (116.085, 38.945),
    (116.100, 38.915),
    (116.095, 38.875),
    (116.070, 38.835),
    (116.030, 38.805),
    (115.985, 38.795),
    (115.940, 38.805),
    (115.905, 38.830),
    (115.895, 38.865),
    (115.915, 38.895),
    (115.940, 38.915),
]

RIVERS = {  # name, code for zone ids, polyline ending inside the lake
    "府河": (
        "FH",
        [
            (115.47, 38.875),
            (115.56, 38.878),
            (115.66, 38.884),
            (115.76, 38.890),
            (115.85, 38.893),
            (115.93, 38.880),
        ],
    ),
    "孝义河": (
        "XYH",
        [
            (115.60, 38.50),
            (115.67, 38.57),
            (115.74, 38.64),
            (115.82, 38.73),
            (115.88, 38.80),
            (115.93, 38.84),
        ],
    ),
    "潴龙河": (
        "ZLH",
        [
            (115.48, 38.40),
            (115.62, 38.47),
            (115.76, 38.57),
            (115.88, 38.66),
            (115.96, 38.74),
            (116.00, 38.82),
        ],
    ),
    "白沟引河": (
        "BGYH",
        [(116.03, 39.16), (116.045, 39.10), (116.055, 39.04), (116.060, 38.990), (116.055, 38.950)],
    ),
    "瀑河": (
        "PH",
        [
            (115.55, 39.08),
            (115.64, 39.04),
            (115.74, 39.00),
            (115.82, 38.975),
            (115.90, 38.960),
            (115.96, 38.950),
        ],
    ),
}

DOUHE_RESERVOIR = ellipse(118.300, 39.765, 3200, 1300, 35)
YIMUQUAN_WELLS = (115.385, 38.935)


def type1_features():
    """Priority-protection features, carved first, in order: (stem, category, geometry)."""
    lake = poly(BAIYANGDIAN_LAKE, 0.005)
    wetland = union([lake, buffer_m(lake, 1500)])
    feats = [("白洋淀", "lake", wetland)]
    for name, (_, line) in RIVERS.items():
        feats.append((f"{name}生态廊道", "river", buffer_m(LineString(line), 1000)))
    feats += [
        ("一亩泉饮用水水源", "water_source", buffer_m(Point(*YIMUQUAN_WELLS), 3000, quad_segs=6)),
        (
            "西部山区生态保护红线",
            "red_line",
            poly(
                [
                    (115.12, 38.82),
                    (115.22, 38.80),
                    (115.26, 38.88),
                    (115.24, 38.98),
                    (115.17, 39.04),
                    (115.13, 38.98),
                ]
            ),
        ),
        ("陡河水库饮用水水源", "water_source", buffer_m(DOUHE_RESERVOIR, 2000)),
        (
            "南湖生态",
            "urban_park",
            poly(
                [
                    (118.150, 39.590),
                    (118.185, 39.588),
                    (118.200, 39.600),
                    (118.190, 39.612),
                    (118.158, 39.610),
                ],
                0.005,
            ),
        ),
        (
            "曹妃甸湿地",
            "wetland",
            poly(
                [
                    (118.470, 39.300),
                    (118.540, 39.292),
                    (118.585, 39.320),
                    (118.575, 39.365),
                    (118.510, 39.372),
                    (118.475, 39.345),
                ]
            ),
        ),
        (
            "滦河口湿地",
            "wetland",
            poly(
                [
                    (119.160, 39.400),
                    (119.230, 39.380),
                    (119.300, 39.420),
                    (119.290, 39.455),
                    (119.200, 39.470),
                    (119.160, 39.440),
                ]
            ),
        ),
    ]
    return feats


def type2_features():
    """Key-control features, carved after the priority ones: (stem, category, geometry)."""
    return [
        (
            "保定高新区",
            "hitech_park",
            poly([(115.500, 38.905), (115.560, 38.905), (115.565, 38.940), (115.505, 38.945)], 0.005),
        ),
        (
            "造纸工业园",
            "paper_park",
            poly([(115.275, 38.925), (115.335, 38.925), (115.340, 38.965), (115.280, 38.968)], 0.005),
        ),
        (
            "徐水经济开发区",
            "dev_zone",
            poly([(115.610, 39.000), (115.690, 39.005), (115.695, 39.045), (115.615, 39.048)], 0.005),
        ),
        (
            "定兴经济开发区",
            "dev_zone",
            poly([(115.755, 39.228), (115.830, 39.228), (115.835, 39.262), (115.760, 39.265)], 0.005),
        ),
        (
            "高碑店经济开发区",
            "dev_zone",
            poly([(115.835, 39.295), (115.915, 39.298), (115.918, 39.340), (115.840, 39.345)], 0.005),
        ),
        (
            "白沟箱包产业园",
            "luggage_park",
            poly(
                [
                    (116.000, 39.120),
                    (116.020, 39.112),
                    (116.075, 39.115),
                    (116.078, 39.150),
                    (116.005, 39.152),
                ],
                0.005,
            ),
        ),
        (
            "纺织产业园",
            "textile_park",
            poly([(115.795, 38.660), (115.870, 38.670), (115.868, 38.705), (115.800, 38.708)], 0.005),
        ),
        (
            "皮革产业园",
            "leather_park",
            poly([(115.600, 38.515), (115.670, 38.520), (115.672, 38.560), (115.605, 38.565)], 0.005),
        ),
        (
            "雄安新区起步区",
            "xiongan",
            poly([(115.960, 38.990), (116.120, 38.990), (116.145, 39.050), (115.980, 39.062)]),
        ),
        ("保定主城区", "urban_core", circle(115.475, 38.870, 6500)),
        (
            "曹妃甸钢铁港口",
            "steel_port",
            poly([(118.440, 38.950), (118.580, 38.950), (118.600, 39.050), (118.460, 39.060)]),
        ),
        (
            "曹妃甸化学工业园区",
            "chem_park",
            poly([(118.280, 39.080), (118.380, 39.060), (118.400, 39.130), (118.300, 39.150)]),
        ),
        (
            "沿海工业区",
            "coastal_industry",
            poly([(118.020, 39.170), (118.160, 39.140), (118.180, 39.220), (118.040, 39.250)]),
        ),
        (
            "京唐港区",
            "port",
            poly([(118.940, 39.190), (119.050, 39.200), (119.060, 39.270), (118.950, 39.280)]),
        ),
        (
            "经济开发区",
            "dev_zone",
            poly([(118.620, 39.470), (118.700, 39.470), (118.705, 39.520), (118.625, 39.522)], 0.005),
        ),
        ("唐山中心城区", "urban_core", circle(118.180, 39.630, 7000)),
    ]


# ---------------------------------------------------------------------------
# the four list dimensions as free text, per kind of unit (written for this sample)

TEXT = {
    "lake": (
        "严格保护淀区水域和周边湿地，禁止新建、扩建工业项目和矿产开发；除防洪、供水、生态修复和必要的民生设施外，不开展其他开发建设。",
        "淀区内不得新设排污口，已有排污口限期清理；村庄和旅游设施污水全收集、全处理，不得直接入淀。",
        "淀区及周边禁止存放、转运危险化学品；编制水华、溢油等突发水环境事件应急预案。",
        "保障生态补水，维持适宜水位；严格限制地下水开采。",
    ),
    "river": (
        "河道两岸各1公里范围内禁止新建规模化畜禽养殖场以及化工、印染、制革等涉水重污染项目；不得侵占河道和河滨带。",
        "不得新增工业废水排放口；沿线村镇生活污水纳管或就地处理达标后回用。",
        "加强跨河桥梁危险货物运输车辆管理，设置事故应急拦截设施。",
        "",
    ),
    "water_source": (
        "一级保护区内禁止建设与供水设施和保护水源无关的项目；二级保护区内禁止新建、改建、扩建排放污染物的项目。",
        "保护区内已有排污口一律关闭；不得设置垃圾、粪便和危险废物堆放场所。",
        "禁止危险化学品运输车辆进入一级保护区；二级保护区内不得建设危险化学品储存设施。",
        "按核定取水量取水，不得超采。",
    ),
    "red_line": (
        "生态保护红线内除国家允许的有限人为活动外，禁止开发性、生产性建设活动；禁止新建采矿、采石、采砂项目。",
        "不新增污染物排放；现有旅游和生活设施污水须处理达标。",
        "加强森林防火和地质灾害隐患排查。",
        "推进废弃矿山生态修复，提高植被覆盖度。",
    ),
    "wetland": (
        "保护湿地和鸟类栖息地，禁止围垦、填埋湿地，禁止新建工业和规模化养殖项目。",
        "禁止向湿地排放未经处理的废水和倾倒固体废物。",
        "防范周边工业区、港口突发环境事件影响湿地，建立联防联控机制。",
        "保障湿地生态用水，控制地下水开采。",
    ),
    "urban_park": (
        "以生态修复和公共休闲功能为主，禁止新建工业项目，限制大规模商业开发。",
        "",
        "加强采煤沉陷区地质环境监测。",
        "",
    ),
    "urban_core": (
        "禁止新建、扩建钢铁、焦化、化工等重污染项目，现有重污染企业有序退城搬迁；新建项目应符合城市功能定位。",
        "执行大气污染物特别排放限值；加强施工扬尘、餐饮油烟和机动车排放管控。",
        "人口密集区周边不得新建涉及有毒有害物质的生产和储存项目。",
        "高污染燃料禁燃区内禁止燃用煤炭等高污染燃料，推进清洁取暖。",
    ),
    "hitech_park": (
        "重点发展新能源、智能制造、电子信息等产业，不引入高耗能、高排放项目。",
        "涉VOCs项目优先使用低VOCs含量原辅材料，废气收集处理效率满足要求。",
        "园区编制突发环境事件应急预案，建设事故废水收集设施。",
        "新建项目能效达到行业先进水平。",
    ),
    "paper_park": (
        "造纸企业集中入园，禁止新建化学制浆项目。",
        "废水预处理后排入园区污水处理厂；严格控制化学需氧量、氨氮排放总量。",
        "规范贮存和处置污泥、废渣等固体废物。",
        "提高水重复利用率，单位产品取水量不高于行业先进值。",
    ),
    "textile_park": (
        "印染项目一律入园，园区外不得新建、扩建印染生产线。",
        "印染废水集中处理并实行总量控制；新增化学需氧量、氨氮须区域削减替代。",
        "加强染料、助剂等化学品储存管理。",
        "推广中水回用，逐步降低单位产品新鲜水用量。",
    ),
    "leather_park": (
        "制革和毛皮加工企业入园集中发展，园区外禁止新建、扩建鞣制项目。",
        "含铬废水单独收集、单独处理；园区污水处理厂稳定达标。",
        "含铬污泥按危险废物管理；重点区域防渗，防止地下水污染。",
        "",
    ),
    "luggage_park": (
        "箱包加工企业集中入区，禁止生产与居住混杂的家庭作坊。",
        "涂胶、印刷等工序的VOCs废气应收集处理。",
        "",
        "",
    ),
    "dev_zone": (
        "优先发展汽车零部件、装备制造等先进制造业；限制新建铸造、电镀项目，确需建设的集中布局。",
        "工业废气执行特别排放限值，工业炉窑实施深度治理。",
        "涉危险化学品企业开展环境风险评估并落实防控措施。",
        "新建项目用地强度、投资强度符合开发区准入标准。",
    ),
    "xiongan": (
        "按新区规划建设，禁止新建一般性制造业和高耗水、高污染项目，重点布局高端高新产业和公共服务设施。",
        "生活污水全部收集处理，再生水优先用于生态补水和市政杂用。",
        "施工期严格落实扬尘和水土流失防治措施。",
        "新建建筑执行绿色建筑标准，推广可再生能源。",
    ),
    "steel_port": (
        "钢铁项目须实施产能减量置换，不得新增钢铁产能；港口岸线集约利用。",
        "钢铁企业全面实施超低排放；新增主要污染物排放实行倍量削减替代。",
        "港口危险货物作业符合安全和环保要求，配备溢油应急设备。",
        "优先使用海水淡化水和再生水；吨钢新水消耗达到先进水平。",
    ),
    "chem_park": (
        "石化、化工项目必须进入化工园区，园区外不再新建化工项目。",
        "落实泄漏检测与修复（LDAR），新增VOCs排放实行倍量替代。",
        "建立单元、园区、区域三级环境风险防控体系，设置有毒有害气体预警监测。",
        "化工项目能耗、水耗达到行业先进水平。",
    ),
    "coastal_industry": (
        "承接钢铁、装备制造等产业转移，新建项目须符合园区规划，不新增焦化、水泥产能。",
        "工业炉窑和燃煤设施执行超低排放或特别排放限值。",
        "加强入海排污口监管，防范海洋环境污染事故。",
        "严控新增煤炭消费，实施煤炭减量替代。",
    ),
    "port": (
        "以港口物流和临港产业为主，限制新建高污染项目。",
        "散货堆场全封闭或设置防风抑尘设施；靠港船舶使用岸电。",
        "配备船舶污染和危险化学品泄漏应急设施。",
        "集约节约利用港口岸线。",
    ),
    "general": (
        "执行省、市总体准入要求；新建工业项目原则上进入合规园区。",
        "新建项目主要污染物排放满足总量控制要求。",
        "",
        "严格控制地下水开采，推进农业节水。",
    ),
}


# ---------------------------------------------------------------------------
# units


def counties_of(cluster: dict):
    """Voronoi partition of the cluster outline into counties: [(code, name, geometry)]."""
    outline = poly(cluster["outline"], 0.01)
    seeds, owner = [], []
    for code, name, points in cluster["counties"]:
        for lon, lat in points:
            seeds.append(_FWD.transform(lon, lat))
            owner.append(code)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=to_m(outline).buffer(100_000))
    cell_of = {}
    for cell in shapely.get_parts(cells):
        for i, seed in enumerate(seeds):
            if cell.contains(Point(seed)):
                cell_of.setdefault(owner[i], []).append(to_ll(cell))
    out, taken = [], MultiPolygon()
    for k, (code, name, _) in enumerate(cluster["counties"]):
        if k == len(cluster["counties"]) - 1:
            geom = diff(outline, taken)  # the last county takes exactly what is left
        else:
            geom = diff(inter(union(cell_of[code]), outline), taken)
        taken = union([taken, geom])
        out.append((code, name, geom))
    return outline, out


def build_units():
    rows, outlines = [], {}
    t1, t2 = type1_features(), type2_features()
    for key, cluster in CLUSTERS.items():
        outline, counties = counties_of(cluster)
        outlines[key] = outline
        for code, county, cgeom in counties:
            pieces, carved = [], MultiPolygon()
            for utype, feats in ((1, t1), (2, t2)):
                for stem, category, fgeom in feats:
                    if not fgeom.intersects(cgeom):
                        continue
                    piece = diff(inter(fgeom, cgeom), carved)
                    if piece.is_empty or area_m2(piece) < MIN_PIECE_M2:
                        continue
                    pieces.append((utype, stem, category, piece))
                    carved = union([carved, piece])
            pieces.append((3, "", "general", diff(cgeom, carved)))
            seq = {1: 0, 2: 0, 3: 0}
            for utype, stem, category, geom in pieces:
                seq[utype] += 1
                rows.append(
                    {
                        "HJZHGKDYBM": f"ZH{code}{utype}{seq[utype]:04d}",
                        "HJZHGKDYMC": f"{county}{stem}{TYPE_WORD[utype]}",
                        "ZHGKDYFL": utype,
                        "PROV": PROVINCE,
                        "CITY": cluster["city"],
                        "AREA": county,
                        "REMARK": NOTE,
                        "category": category,
                        "admin": code,
                        "geometry": geom,
                    }
                )
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs=GEOGRAPHIC)
    for key, cluster in CLUSTERS.items():
        mask = (units["CITY"] == cluster["city"]).to_numpy()
        units.loc[mask, "geometry"] = clean_coverage(outlines[key], list(units.geometry[mask]))
    return units, outlines


def clean_coverage(outline, geoms):
    """Rebuild ``geoms`` as an exact partition of ``outline``.

    Overlay results computed one after another can disagree by millimetres
    along shared edges. Node every boundary together, polygonize the faces,
    give each face to the unit that holds most of it, and rebuild each unit
    from its faces: neighbours then share identical vertices, so they neither
    overlap nor leave gaps, in lon/lat or after projection.
    """
    lines = shapely.union_all([shapely.boundary(g) for g in geoms] + [outline.boundary], grid_size=GRID)
    faces = [
        f
        for f in shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
        if outline.contains(f.point_on_surface())
    ]
    tree = shapely.STRtree(geoms)
    owner = []
    for face in faces:
        rep = face.point_on_surface()
        hits = [int(i) for i in tree.query(rep, predicate="within")]
        if len(hits) != 1:
            near = [int(i) for i in tree.query(face, predicate="intersects")]
            score = [
                (
                    shapely.intersection(face, geoms[i]).area,
                    shapely.intersection(face.boundary, geoms[i].boundary).length,
                    -i,
                )
                for i in near
            ]
            hits = [near[score.index(max(score))]]
        owner.append(hits[0])
    out = []
    for i in range(len(geoms)):
        mine = [f for f, o in zip(faces, owner) if o == i]
        if not mine:
            raise RuntimeError("a unit lost all its faces while cleaning the coverage")
        out.append(polygonal(shapely.coverage_union_all(mine)))
    return out


def fill_text(units: gpd.GeoDataFrame) -> None:
    """Fill KJBJYS/PWWPFGK/HJFXFK/ZYKFXLYQ from the per-kind text, leaving a few blank."""
    fields = ["KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"]
    for f in fields:
        units[f] = ""
    for i, row in units.iterrows():
        texts = list(TEXT[row["category"]])
        if row["category"] == "general" and row["CITY"] == "唐山市":
            texts[3] = "严控新增煤炭消费，新建耗煤项目实行煤炭减量替代；推进工业用水循环利用。"
        # Deliberately leave some general units without emission or risk text, as real deliveries do.
        if row["category"] == "general" and int(row["admin"]) % 3 == 0:
            texts[1] = ""
        for f, t in zip(fields, texts):
            units.at[i, f] = t


# ---------------------------------------------------------------------------
# zones


def build_zones(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    lake = poly(BAIYANGDIAN_LAKE, 0.005)
    rows = []

    def add(zone_id, kind, name, geom):
        rows.append(
            {"zone_id": zone_id, "kind": kind, "name": name, "remark": NOTE, "geometry": polygonal(geom)}
        )

    dh1 = buffer_m(DOUHE_RESERVOIR, 300)
    dh2 = diff(buffer_m(DOUHE_RESERVOIR, 2000), dh1)
    add("DHSK-WS1", "water_source_grade1", "陡河水库饮用水水源一级保护区", dh1)
    add("DHSK-WS2", "water_source_grade2", "陡河水库饮用水水源二级保护区", dh2)
    ym1 = buffer_m(Point(*YIMUQUAN_WELLS), 800, quad_segs=6)
    ym2 = diff(buffer_m(Point(*YIMUQUAN_WELLS), 3000, quad_segs=6), ym1)
    add("YMQ-WS1", "water_source_grade1", "一亩泉地下水饮用水水源一级保护区", ym1)
    add("YMQ-WS2", "water_source_grade2", "一亩泉地下水饮用水水源二级保护区", ym2)
    add("BD-JRQ", "fuel_ban", "保定市主城区高污染燃料禁燃区", circle(115.475, 38.870, 6000))
    add("TS-JRQ", "fuel_ban", "唐山市中心城区高污染燃料禁燃区", circle(118.180, 39.630, 6500))
    add("BYD-HX", "red_line", "白洋淀生态保护红线（核心区）", lake)
    cfd = units.loc[units["HJZHGKDYMC"].str.contains("曹妃甸湿地"), "geometry"]
    add("CFD-HX", "red_line", "曹妃甸湿地生态保护红线", union(list(cfd)))
    hills = units.loc[units["HJZHGKDYMC"].str.contains("西部山区生态保护红线"), "geometry"]
    add("MC-HX", "red_line", "满城区西部山区生态保护红线", union(list(hills)))
    for name, (code, line) in RIVERS.items():
        add(f"{code}-1KM", "river_buffer", f"{name}两岸1公里缓冲区", buffer_m(LineString(line), 1000))
    for name, (code, line) in RIVERS.items():  # the channels themselves, for within_distance clauses
        add(f"{code}-HD", "river", f"{name}河道", buffer_m(LineString(line), 40))
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=GEOGRAPHIC)
    return zones


def finish_zones(zones: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The zones as published: each river channel as its centreline (a line zone), and the
    Baoding high-tech zone's units as an industrial park."""
    zones = zones.copy()
    for name, (code, line) in RIVERS.items():
        zones.loc[zones["zone_id"] == f"{code}-HD", "geometry"] = LineString(line)
    park = units.loc[units["HJZHGKDYMC"].str.contains("保定高新区"), "geometry"]
    extra = gpd.GeoDataFrame([{"zone_id": "BD-GXQ", "kind": "industrial_park", "name": "保定国家高新技术产业开发区",
                               "remark": NOTE, "geometry": union(list(park))}], geometry="geometry", crs=GEOGRAPHIC)
    return pd.concat([zones, extra], ignore_index=True)


# ---------------------------------------------------------------------------
# project registry (all fictitious)

# industry -> (short description, company suffix, typical SO2, NOx, particulate, VOCs, COD, NH3-N,
#              coal_use t/a, water_use m3/a, hazardous-chemicals probability); None = not applicable
INDUSTRY = {
    "C3120": ("炼钢", "钢铁", 350, 900, 420, 60, 20, 2, None, 2.5e6, 0.6),
    "C3110": ("炼铁", "钢铁", 500, 700, 600, 30, 10, 1, 8.0e5, 1.5e6, 0.5),
    "C3130": ("钢材轧制", "钢材", 40, 120, 60, 5, 8, 0.8, None, 4.0e5, 0.2),
    "C3140": ("铁合金冶炼", "合金", 80, 60, 120, None, 2, 0.2, 1.0e5, 1.0e5, 0.2),
    "C2521": ("焦化", "焦化", 200, 600, 250, 150, 60, 12, 1.2e6, 1.2e6, 1.0),
    "C3011": ("水泥熟料", "水泥", 60, 500, 150, None, None, None, 1.5e5, 2.0e5, 0.1),
    "C3012": ("石灰煅烧", "建材", 30, 80, 60, None, None, None, 4.0e4, 3.0e4, 0.0),
    "C2511": ("原油加工", "石化", 400, 600, 120, 900, 150, 20, None, 4.0e6, 1.0),
    "C2614": ("有机化学原料", "化工", 20, 40, 10, 80, 30, 3, None, 5.0e5, 1.0),
    "C2651": ("合成树脂", "新材料", 10, 30, 8, 120, 20, 2, None, 3.0e5, 1.0),
    "C2661": ("化学助剂", "化学", 5, 10, 3, 15, 8, 0.8, None, 6.0e4, 1.0),
    "C1713": ("棉印染", "印染", None, 2, 1, 3, 120, 10, None, 8.0e5, 0.5),
    "C1752": ("化纤织物染整", "纺织", None, 2, 1, 4, 90, 8, None, 6.0e5, 0.5),
    "C1712": ("棉织造", "纺织", None, None, 0.5, 0.5, 2, 0.2, None, 2.0e4, 0.0),
    "C1910": ("皮革鞣制", "皮革", None, None, 1, 5, 90, 12, None, 3.0e5, 0.8),
    "C1931": ("毛皮鞣制", "皮毛", None, None, 1, 3, 40, 5, None, 1.5e5, 0.8),
    "C1952": ("皮鞋制造", "鞋业", None, None, 0.5, 20, 1, 0.1, None, 1.0e4, 0.3),
    "C1922": ("箱包制造", "箱包", None, None, 0.3, 8, 0.5, 0.05, None, 5.0e3, 0.2),
    "C2221": ("机制纸及纸板", "纸业", 20, 50, 10, 2, 200, 15, 3.0e4, 2.0e6, 0.2),
    "C2231": ("纸箱包装", "包装", None, None, 0.5, 3, 2, 0.2, None, 1.0e4, 0.0),
    "C3360": ("金属表面处理", "表面技术", None, 1, 0.5, 2, 5, 0.5, None, 5.0e4, 1.0),
    "C3391": ("黑色金属铸造", "铸造", 10, 15, 30, 10, None, None, 5.0e3, 2.0e4, 0.2),
    "C3670": ("汽车零部件", "汽车部件", None, 2, 5, 15, 2, 0.2, None, 3.0e4, 0.3),
    "C2929": ("塑料制品", "塑业", None, None, 1, 10, 1, 0.1, None, 1.0e4, 0.2),
    "C1391": ("淀粉加工", "食品", 5, 10, 5, None, 60, 5, 8.0e3, 3.0e5, 0.0),
    "D4411": ("燃煤发电", "电力", 300, 450, 60, None, 10, 1, 1.5e6, 3.0e6, 0.3),
    "D4430": ("集中供热", "热力", 25, 60, 10, None, 1, 0.1, 5.0e4, 5.0e4, 0.2),
    "D4416": ("光伏发电", "新能源", None, None, None, None, None, None, None, 2.0e3, 0.0),
    "D4610": ("自来水厂", "水务", None, None, None, None, None, None, None, 1.0e4, 0.3),
    "N7721": ("污水处理厂", "环境", None, None, None, 1, 300, 30, None, 5.0e3, 0.3),
    "A0313": ("生猪养殖", "牧业", None, None, None, None, 80, 12, None, 5.0e4, 0.0),
    "E4710": ("住宅楼施工", "建设", None, None, 3, 1, None, None, None, 2.0e4, 0.0),
    "K7010": ("住宅小区开发", "置业", 0, 0, 0, 0, 0, 0, 0, 3.0e4, 0.0),
    "M7320": ("研发中心", "科技", None, None, None, 0.5, 1, 0.1, None, 8.0e3, 0.3),
    "I6513": ("软件研发办公楼", "软件", None, None, None, None, None, None, None, None, 0.0),
    "G5532": ("散货码头", "港务", 5, 50, 40, 10, 2, 0.2, None, 3.0e4, 0.5),
    "N7711": ("湿地保护修复", "生态", None, None, None, None, None, None, None, 2.0e3, 0.0),
}
EMISSION_COLUMNS = ["SO2", "NOx", "particulate", "VOCs", "COD", "NH3-N"]
BRANDS = [
    "恒川",
    "瑞岭",
    "锦源",
    "泰和",
    "冀禾",
    "嘉润",
    "鼎晟",
    "宏霖",
    "弘远",
    "润坤",
    "欣垣",
    "裕丰",
    "聚隆",
    "华岳",
    "安澜",
    "卓衡",
    "沐阳",
    "景弘",
    "庆溪",
    "朗晴",
]
TYPE_CN = {"new": "新建", "expansion": "扩建", "renovation": "技术改造", "relocation": "搬迁"}
CAPACITY_SECTORS = ("C31", "C30", "C25", "D44")


def sample_point(rng, geom, margin_deg=0.003):
    """A random point well inside ``geom`` (falls back to plain containment for thin shapes)."""
    inner = geom.buffer(-margin_deg)
    target = inner if not inner.is_empty and inner.area > 0.05 * geom.area else geom
    minx, miny, maxx, maxy = target.bounds
    for _ in range(10_000):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if target.contains(p):
            return p
    raise RuntimeError("could not sample a point")


def build_registry(units: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    by_cat = {cat: units[units["category"] == cat] for cat in units["category"].unique()}
    zone_union = union(list(zones.geometry))
    plan = []  # (units subset, industry, forced type or None, count, in_park)

    def pick(frame, name_part=None):
        if name_part is not None:
            frame = frame[frame["HJZHGKDYMC"].str.contains(name_part)]
        return frame

    general = by_cat["general"]
    plan += [
        # parks with their own industries
        (pick(by_cat["steel_port"]), "C3120", None, 5, True),
        (pick(by_cat["steel_port"]), "C3130", None, 3, True),
        (pick(by_cat["steel_port"]), "G5532", None, 2, True),
        (pick(by_cat["chem_park"]), "C2614", None, 4, True),
        (pick(by_cat["chem_park"]), "C2511", None, 2, True),
        (pick(by_cat["chem_park"]), "C2651", None, 3, True),
        (pick(by_cat["chem_park"]), "C2661", None, 2, True),
        (pick(by_cat["coastal_industry"]), "C3130", None, 3, True),
        (pick(by_cat["coastal_industry"]), "C3140", None, 2, True),
        (pick(by_cat["coastal_industry"]), "C2521", None, 2, True),
        (pick(by_cat["coastal_industry"]), "C3120", None, 2, True),
        (pick(by_cat["port"]), "G5532", None, 3, True),
        (pick(by_cat["port"]), "C3120", None, 1, True),
        (pick(by_cat["textile_park"]), "C1713", None, 5, True),
        (pick(by_cat["textile_park"]), "C1752", None, 3, True),
        (pick(by_cat["textile_park"]), "C1712", None, 2, True),
        (pick(by_cat["leather_park"]), "C1910", None, 4, True),
        (pick(by_cat["leather_park"]), "C1931", None, 3, True),
        (pick(by_cat["paper_park"]), "C2221", None, 5, True),
        (pick(by_cat["paper_park"]), "C2231", None, 2, True),
        (pick(by_cat["luggage_park"]), "C1922", None, 4, True),
        (pick(by_cat["hitech_park"]), "C3670", None, 2, True),
        (pick(by_cat["hitech_park"]), "M7320", None, 3, True),
        (pick(by_cat["hitech_park"]), "I6513", None, 2, True),
        (pick(by_cat["dev_zone"]), "C3670", None, 6, True),
        (pick(by_cat["dev_zone"]), "C3360", None, 3, True),
        (pick(by_cat["dev_zone"]), "C3391", None, 4, True),
        (pick(by_cat["dev_zone"]), "C2929", None, 4, True),
        (pick(by_cat["dev_zone"]), "C1391", None, 2, True),
        (pick(by_cat["xiongan"]), "I6513", None, 3, False),
        (pick(by_cat["xiongan"]), "M7320", None, 2, False),
        (pick(by_cat["xiongan"]), "E4710", None, 3, False),
        (pick(by_cat["xiongan"]), "N7721", "new", 1, False),
        (pick(by_cat["urban_core"]), "K7010", None, 5, False),
        (pick(by_cat["urban_core"]), "D4430", None, 3, False),
        (pick(by_cat["urban_core"]), "I6513", None, 2, False),
        (pick(by_cat["urban_core"]), "C3391", None, 2, False),
        (pick(by_cat["urban_core"]), "E4710", None, 2, False),
        # general units: mixed
        (general, "I6513", "new", 8, False),
        (general, "A0313", None, 7, False),
        (general, "C3011", None, 3, False),
        (general, "C3012", None, 2, False),
        (general, "D4411", None, 3, False),
        (general, "D4430", None, 3, False),
        (general, "D4416", None, 4, False),
        (general, "C2614", None, 3, False),
        (general, "C2521", None, 2, False),
        (general, "C1713", None, 2, False),
        (general, "C1952", None, 3, False),
        (general, "C3120", None, 2, False),
        (general, "K7010", None, 5, False),
        (general, "E4710", None, 3, False),
        (general, "N7721", None, 3, False),
        (general, "C1391", None, 3, False),
        (general, "C3391", None, 2, False),
        (general, "M7320", None, 2, False),
        (general, "C3670", None, 2, False),
        (general, "C2929", None, 2, False),
        (pick(by_cat["urban_core"]), "M7320", None, 2, False),
        (pick(by_cat["steel_port"]), "C3110", None, 1, True),
        # priority units: mostly compatible uses, some that should be refused
        (pick(by_cat["lake"], "安新县"), "C3120", "new", 1, False),
        (pick(by_cat["river"]), "C3120", "new", 1, False),
        (pick(by_cat["wetland"], "曹妃甸"), "C3120", "new", 1, False),
        (pick(by_cat["river"]), "A0313", "new", 3, False),
        (pick(by_cat["lake"]), "N7711", None, 2, False),
        (pick(by_cat["wetland"]), "N7711", None, 2, False),
        (pick(by_cat["water_source"]), "D4610", None, 2, False),
        (pick(by_cat["water_source"]), "C2661", "new", 1, False),
        (pick(by_cat["red_line"]), "K7010", "new", 1, False),
        (pick(by_cat["urban_park"]), "K7010", None, 1, False),
        (pick(by_cat["river"]), "N7721", None, 2, False),
        (pick(by_cat["lake"]), "C1952", "expansion", 1, False),
    ]

    records = []

    def project(lon, lat, industry, ptype, in_park, forced_flags=None):
        desc, suffix, so2, nox, pm, vocs, cod, nh3, coal, water, p_haz = INDUSTRY[industry]
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        name = f"示例{brand}{suffix}有限公司{desc}{TYPE_CN[ptype]}项目"
        row = {"name": name, "lon": round(lon, 6), "lat": round(lat, 6), "industry": industry, "type": ptype}
        blank_all = industry == "I6513"  # offices rarely report anything
        for col, base in zip(
            EMISSION_COLUMNS + ["coal_use", "water_use"], (so2, nox, pm, vocs, cod, nh3, coal, water)
        ):
            if base is None or blank_all or rng.random() < 0.08:
                row[col] = None
            else:
                value = base * float(rng.lognormal(0.0, 0.45))
                row[col] = int(round(value, -1)) if col in ("coal_use", "water_use") else round(value, 2)
        flags = {"in_park": "true" if in_park else "false"}
        flags["chp"] = ("true" if rng.random() < 0.5 else "false") if industry in ("D4411", "D4430") else None
        if industry.startswith(CAPACITY_SECTORS) and ptype in ("new", "expansion"):
            flags["capacity_replacement"] = "true" if rng.random() < 0.6 else "false"
        else:
            flags["capacity_replacement"] = None
        flags["hazardous_chemicals"] = "true" if rng.random() < p_haz else "false"
        for key in list(flags):
            if key != "capacity_replacement" and rng.random() < 0.08:
                flags[key] = None  # not supplied
        if blank_all:
            flags = {
                "in_park": flags["in_park"] if in_park else None,
                "chp": None,
                "capacity_replacement": None,
                "hazardous_chemicals": None,
            }
        flags.update(forced_flags or {})
        row.update(flags)
        records.append(row)

    # the documented example first: a new organic-chemicals plant in Baiyangdian
    project(115.97, 38.93, "C2614", "new", False)
    records[-1].update(
        {
            "SO2": None,
            "NOx": 3.0,
            "particulate": None,
            "VOCs": 12.5,
            "COD": None,
            "NH3-N": None,
            "coal_use": None,
            "water_use": None,
            "in_park": None,
            "chp": None,
            "capacity_replacement": None,
            "hazardous_chemicals": None,
        }
    )

    types = np.array(["new", "expansion", "renovation", "relocation"])
    for frame, industry, forced_type, count, in_park in plan:
        if frame.empty:
            raise RuntimeError(f"no unit for {industry}")
        for _ in range(count):
            unit = frame.iloc[int(rng.integers(len(frame)))]
            for _attempt in range(50):
                p = sample_point(rng, unit.geometry)
                # software offices in general units must stay clear of every overlay zone
                if not (industry == "I6513" and unit["category"] == "general" and zone_union.contains(p)):
                    break
            ptype = forced_type or str(rng.choice(types, p=[0.5, 0.25, 0.15, 0.10]))
            project(p.x, p.y, industry, ptype, in_park)

    # a few sites outside every unit (Beijing, Tianjin, Shijiazhuang)
    for lon, lat, ind in (
        (116.397477, 39.908692, "I6513"),
        (117.200983, 39.084158, "C2614"),
        (114.514862, 38.042307, "C3120"),
    ):
        project(lon, lat, ind, "new", False)

    frame = pd.DataFrame(records)
    frame.insert(0, "project_id", [f"P{i:04d}" for i in range(1, len(frame) + 1)])
    columns = [
        "project_id",
        "name",
        "lon",
        "lat",
        "industry",
        "type",
        *EMISSION_COLUMNS,
        "coal_use",
        "water_use",
        "in_park",
        "chp",
        "capacity_replacement",
        "hazardous_chemicals",
    ]
    frame = frame[columns].copy()
    for col in ("coal_use", "water_use"):
        frame[col] = frame[col].astype("Int64")  # whole numbers, blank when not supplied
    return frame


# ---------------------------------------------------------------------------
# checks


def check(units, zones, outlines, registry) -> list[str]:
    report, problems = [], []
    valid = shapely.is_valid(units.geometry.values)
    if not valid.all():
        problems.append(f"invalid unit geometries: {list(units.loc[~valid, 'HJZHGKDYBM'])}")
    if not units.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        problems.append("non-polygonal unit geometry")
    if units["HJZHGKDYBM"].duplicated().any():
        problems.append("duplicate unit codes")
    if zones["zone_id"].duplicated().any():
        problems.append("duplicate zone ids")
    if not shapely.is_valid(zones.geometry.values).all():
        problems.append("invalid zone geometries")
    um = units.to_crs(EQUAL_AREA)
    for key, outline in outlines.items():
        sub = um[um["CITY"] == CLUSTERS[key]["city"]]
        total = float(to_m(outline).area)
        parts = float(sub.area.sum())
        rel = abs(parts - total) / total
        gap = float(to_m(diff(outline, union(list(units.loc[sub.index, "geometry"])))).area)
        report.append(
            f"{key}: cluster {total / 1e6:.2f} km2, sum of {len(sub)} units "
            f"{parts / 1e6:.2f} km2, relative difference {rel:.2e}, uncovered {gap:.1f} m2"
        )
        if rel > 1e-6:
            problems.append(f"{key}: units do not add up to the cluster ({rel:.2e})")
    tree = shapely.STRtree(um.geometry.values)
    left, right = tree.query(um.geometry.values, predicate="intersects")
    pairs = left < right
    overlap = float(
        shapely.area(
            shapely.intersection(um.geometry.values[left[pairs]], um.geometry.values[right[pairs]])
        ).sum()
    )
    report.append(f"pairwise overlap of units: {overlap:.3f} m2 over {int(pairs.sum())} touching pairs")
    if overlap > 1.0:
        problems.append(f"units overlap by {overlap:.1f} m2")
    target = Point(115.97, 38.93)
    hit = units[units.contains(target)]
    report.append(f"point 115.97 38.93 falls in: {list(hit['HJZHGKDYBM'])} {list(hit['HJZHGKDYMC'])}")
    margin = float(to_m(hit.geometry.iloc[0]).boundary.distance(to_m(target))) if len(hit) == 1 else None
    if len(hit) != 1 or hit["ZHGKDYFL"].iloc[0] != 1 or "白洋淀" not in hit["HJZHGKDYMC"].iloc[0]:
        problems.append("115.97 38.93 is not in a Baiyangdian priority unit")
    if margin is not None:
        report.append(f"  distance from that point to its unit's outer boundary: {margin:.0f} m")
    grade1 = union(list(zones.loc[zones["kind"] == "water_source_grade1", "geometry"]))
    grade2 = union(list(zones.loc[zones["kind"] == "water_source_grade2", "geometry"]))
    report.append(f"grade-1 / grade-2 water-source overlap: {area_m2(inter(grade1, grade2)):.3f} m2")
    vertices = shapely.get_num_coordinates(units.geometry.values)
    report.append(
        f"vertices per unit: min {vertices.min()}, median {int(np.median(vertices))}, max {vertices.max()}"
    )
    points = gpd.GeoSeries(gpd.points_from_xy(registry["lon"], registry["lat"]), crs=GEOGRAPHIC)
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points), units[["ZHGKDYFL", "geometry"]], how="left", predicate="within"
    )
    outside = int(joined["ZHGKDYFL"].isna().sum())
    report.append(
        f"registry: {len(registry)} projects, {outside} outside every unit, "
        f"by unit type {joined['ZHGKDYFL'].value_counts().sort_index().to_dict()}"
    )
    if joined.index.duplicated().any():
        problems.append("a registry point lies in more than one unit")
    return report, problems


# ---------------------------------------------------------------------------


def main() -> int:
    units, outlines = build_units()
    fill_text(units)
    zones = build_zones(units)
    registry = build_registry(units, zones)
    report, problems = check(units, zones, outlines, registry)
    zones = finish_zones(zones, units)  # after the registry: its sites were drawn against the first zones

    layer_note = (
        "ILLUSTRATIVE sample data for the zoning package, NOT an official dataset; "
        "boundaries are rough sketches. 示例数据，非官方成果。"
    )
    columns = [
        "HJZHGKDYBM",
        "HJZHGKDYMC",
        "ZHGKDYFL",
        "PROV",
        "CITY",
        "AREA",
        "REMARK",
        "KJBJYS",
        "PWWPFGK",
        "HJFXFK",
        "ZYKFXLYQ",
        "geometry",
    ]
    out_units = units[columns].copy()
    out_units["ZHGKDYFL"] = out_units["ZHGKDYFL"].astype("int32")
    for path, frame, layer in (
        (HERE / "units.gpkg", out_units, "units"),
        (HERE / "zones.gpkg", zones, "zones"),
    ):
        if path.exists():
            path.unlink()
        frame.to_file(
            path,
            layer=layer,
            driver="GPKG",
            engine="pyogrio",
            promote_to_multi=True,
            layer_options={"DESCRIPTION": layer_note, "IDENTIFIER": f"{layer} (illustrative)"},
            metadata={"DESCRIPTION": layer_note, "SOURCE": "sample_geodata/make_sample.py"},
        )
    registry.to_csv(HERE / "registry.csv", index=False, encoding="utf-8", lineterminator="\n")

    counts = units["ZHGKDYFL"].value_counts().sort_index().to_dict()
    print(f"units: {len(units)} {counts}; zones: {len(zones)}; projects: {len(registry)}")
    for line in report:
        print(line)
    for line in problems:
        print("PROBLEM:", line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
