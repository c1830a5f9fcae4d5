"""Real GB/T 2260 district codes the simulated carriers serve.

A short fixed table is enough: what matters downstream is that codes are genuine
6-digit divisions (the contract forbids anything finer) and that parcels flow between
cities, so routes need one, two or three hubs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    province: str
    city: str  # empty for the municipalities, whose districts sit under the province
    district: str
    weight: float  # rough share of parcel recipients; e-commerce origins weigh more


REGIONS: tuple[Region, ...] = (
    Region("310101", "上海市", "", "黄浦区", 1.0),
    Region("310104", "上海市", "", "徐汇区", 1.4),
    Region("310105", "上海市", "", "长宁区", 1.0),
    Region("310106", "上海市", "", "静安区", 1.0),
    Region("310107", "上海市", "", "普陀区", 1.1),
    Region("310110", "上海市", "", "杨浦区", 1.2),
    Region("310112", "上海市", "", "闵行区", 2.0),
    Region("310115", "上海市", "", "浦东新区", 3.0),
    Region("110101", "北京市", "", "东城区", 0.8),
    Region("110102", "北京市", "", "西城区", 1.0),
    Region("110105", "北京市", "", "朝阳区", 3.0),
    Region("110106", "北京市", "", "丰台区", 1.8),
    Region("110108", "北京市", "", "海淀区", 2.6),
    Region("440103", "广东省", "广州市", "荔湾区", 0.9),
    Region("440104", "广东省", "广州市", "越秀区", 1.0),
    Region("440105", "广东省", "广州市", "海珠区", 1.4),
    Region("440106", "广东省", "广州市", "天河区", 2.0),
    Region("440111", "广东省", "广州市", "白云区", 2.5),
    Region("440303", "广东省", "深圳市", "罗湖区", 1.0),
    Region("440304", "广东省", "深圳市", "福田区", 1.5),
    Region("440305", "广东省", "深圳市", "南山区", 1.8),
    Region("440306", "广东省", "深圳市", "宝安区", 2.6),
    Region("440307", "广东省", "深圳市", "龙岗区", 2.4),
    Region("330102", "浙江省", "杭州市", "上城区", 1.0),
    Region("330105", "浙江省", "杭州市", "拱墅区", 1.0),
    Region("330106", "浙江省", "杭州市", "西湖区", 1.2),
    Region("330108", "浙江省", "杭州市", "滨江区", 0.9),
    Region("330110", "浙江省", "杭州市", "余杭区", 1.6),
    Region("330782", "浙江省", "金华市", "义乌市", 1.2),
    Region("320102", "江苏省", "南京市", "玄武区", 0.8),
    Region("320104", "江苏省", "南京市", "秦淮区", 0.9),
    Region("320106", "江苏省", "南京市", "鼓楼区", 1.0),
    Region("510104", "四川省", "成都市", "锦江区", 0.9),
    Region("510105", "四川省", "成都市", "青羊区", 0.9),
    Region("510106", "四川省", "成都市", "金牛区", 1.1),
    Region("510107", "四川省", "成都市", "武侯区", 1.3),
    Region("510108", "四川省", "成都市", "成华区", 1.0),
    Region("420102", "湖北省", "武汉市", "江岸区", 0.9),
    Region("420106", "湖北省", "武汉市", "武昌区", 1.1),
    Region("420111", "湖北省", "武汉市", "洪山区", 1.5),
    Region("610104", "陕西省", "西安市", "莲湖区", 0.9),
    Region("610113", "陕西省", "西安市", "雁塔区", 1.5),
)

BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}

# Where e-commerce merchants ship from: wholesale markets and warehouse belts.
MERCHANT_REGIONS: tuple[str, ...] = (
    "330782", "440111", "330110", "440307", "310112", "440306", "110106", "420111",
)

# Line-haul areas: a hub serves the outlets of its area; parcels between areas
# travel hub to hub.
AREA_BY_PROVINCE_PREFIX: dict[str, str] = {
    "31": "east", "32": "east", "33": "east",
    "44": "south",
    "11": "north",
    "42": "central", "61": "central",
    "51": "west",
}


def area_of(code: str) -> str:
    return AREA_BY_PROVINCE_PREFIX.get(code[:2], "east")


def city_key(code: str) -> str:
    """The prefecture part of a code (municipalities share one key)."""
    return code[:2] if code[:2] in ("11", "12", "31", "50") else code[:4]


def place_name(region: Region) -> str:
    return f"{region.province}{region.city}{region.district}"


def short_place(region: Region) -> str:
    """A station-name fragment: 上海徐汇, 广州天河, 义乌."""
    city = (region.city or region.province).removesuffix("市").removesuffix("省")
    district = region.district
    for suffix in ("新区", "区", "市"):
        if district.endswith(suffix) and len(district) > len(suffix) + 1:
            district = district.removesuffix(suffix)
            break
    return district if region.district.endswith("市") else f"{city}{district}"
