//! Neuroglancer viewer states (spec §10.2): the layer JSON of the portal's state generator
//! (`cryoet_data_portal_neuroglancer` v1.7.1, `state_generator` with its shader builders) and
//! the combined state. Key order and numbers follow the generator, since the state is published
//! as `json.dumps(indent=4)` of those dicts.

use crate::pycompat::json::py_float_repr;
use serde_json::{json, Map, Value};

/// Voxel sizes of a source, metres, x, y, z.
pub type Scale = [f64; 3];

/// `urllib.parse.urljoin(prefix, path.strip("/"))` for a relative path: the path replaces what
/// follows the prefix's last `/` (an empty path counts as `/`).
pub fn join_url(prefix: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    if prefix.is_empty() {
        return path.to_string();
    }
    let (origin, rest) = match prefix.find("://") {
        Some(i) => {
            let after = &prefix[i + 3..];
            let end = after.find('/').map_or(prefix.len(), |j| i + 3 + j);
            (&prefix[..end], &prefix[end..])
        }
        None => ("", prefix),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let dir = match rest.rfind('/') {
        Some(j) => &rest[..=j],
        None => "/",
    };
    format!("{origin}{dir}{path}")
}

fn dims(scale: Scale) -> Value {
    json!({"x": [scale[0], "m"], "y": [scale[1], "m"], "z": [scale[2], "m"]})
}

/// A layer's `source`: `{kind}://{url}` with the input → output transform.
fn source(kind: &str, url: &str, scale: Scale, output_scale: Scale) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("url".into(), json!(format!("{kind}://{url}")));
    m.insert(
        "transform".into(),
        json!({"outputDimensions": dims(output_scale), "inputDimensions": dims(scale)}),
    );
    m
}

/// The generator's GLSL builder: `#uicontrol` lines first, then helpers, then `main`.
#[derive(Default)]
struct Shader {
    pre_main: String,
    main: String,
    controls: Map<String, Value>,
}

impl Shader {
    fn controls_code(&mut self, lines: &[String]) {
        self.pre_main.push_str(&lines.join("\n"));
        self.pre_main.push('\n');
    }

    fn main_code(&mut self, lines: &[&str], indent: usize) {
        let tab = "  ".repeat(indent);
        let body: Vec<String> = lines.iter().map(|l| format!("{tab}{l}")).collect();
        self.main.push_str(&body.join("\n"));
        self.main.push('\n');
    }

    fn slider(&mut self, name: &str, min: f64, max: f64, default: f64) -> String {
        self.controls.insert(name.into(), json!(default));
        format!(
            "#uicontrol float {name} slider(min={}, max={}, step=0.01)",
            py_float_repr(min),
            py_float_repr(max)
        )
    }

    /// An inverted-or-not `invlerp` control with its `get_{name}()` helper.
    fn invertible_invlerp(
        &mut self,
        name: &str,
        limits: (f64, f64),
        window: (f64, f64),
        inverted: bool,
        hide_noise: Option<&str>,
    ) -> Vec<String> {
        self.controls.insert(
            name.into(),
            json!({"range": [limits.0, limits.1], "window": [window.0, window.1]}),
        );
        let invlerp = if hide_noise.is_some() {
            format!("#uicontrol invlerp {name}(clamp=false)")
        } else {
            format!("#uicontrol invlerp {name}")
        };
        let mut checkbox = format!("#uicontrol bool invert_{name} checkbox");
        let mut getter = vec![
            format!("float get_{name}() {{"),
            format!("  float value = invert_{name} ? 1.0 - {name}() : {name}();"),
        ];
        self.controls
            .insert(format!("invert_{name}"), json!(inverted));
        if let Some(noise) = hide_noise {
            checkbox.push_str(&format!(
                "\n#uicontrol bool hide_values_outside_limits_{noise} checkbox"
            ));
            self.controls
                .insert(format!("hide_values_outside_limits_{noise}"), json!(false));
            getter.push(format!(
                "  value = (hide_values_outside_limits_{noise} && value > 1.0) ? 0.0 : \
                 clamp(value, 0.0, 1.0);"
            ));
        }
        getter.push("  return value;".into());
        getter.push("}".into());
        let mut out = vec![invlerp, checkbox];
        out.extend(getter);
        out
    }

    /// `{"shader": …, "shaderControls": …}`.
    fn build(self, out: &mut Map<String, Value>) {
        let (mut controls, mut other) = (Vec::new(), Vec::new());
        for line in self.pre_main.split('\n') {
            if line.starts_with("#uicontrol") {
                controls.push(line);
            } else {
                other.push(line);
            }
        }
        if other.len() > 1 {
            other.insert(0, "");
        }
        controls.extend(other);
        let shader = format!("{}\nvoid main() {{\n{}}}", controls.join("\n"), self.main);
        out.insert("shader".into(), json!(shader));
        out.insert("shaderControls".into(), Value::Object(self.controls));
    }
}

/// The window of a contrast range: the range widened by `scale` of its width on both sides.
fn window(limits: (f64, f64), scale: f64) -> (f64, f64) {
    let (lo, hi) = if limits.0 > limits.1 {
        (limits.1, limits.0)
    } else {
        limits
    };
    let d = hi - lo;
    (lo - d * scale, hi + d * scale)
}

/// The tomogram's image layer.
pub struct ImageLayer<'a> {
    /// Its URL (prefix joined with the zarr's relative path).
    pub url: &'a str,
    /// The run name.
    pub name: &'a str,
    /// Voxel size, m.
    pub scale: Scale,
    /// Dimensions x, y, z (voxels).
    pub size: [f64; 3],
    /// MRC header `dmean`.
    pub mean: f64,
    /// MRC header `rms`.
    pub rms: f64,
    /// The 3-D contrast limits (GMM of the lowest level).
    pub contrast_3d: (f64, f64),
}

/// `generate_image_layer(…, start={0,0,0}, threedee_contrast_limits=…)`: volume-rendering
/// shader, 2-D limits `mean ± 3·rms`, plus the `_position`, `_crossSectionScale` and
/// `_projectionScale` keys the combined state reads (and keeps).
pub fn image_layer(l: &ImageLayer<'_>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("image"));
    m.insert("name".into(), json!(l.name));
    m.insert(
        "source".into(),
        Value::Object(source("zarr", l.url, l.scale, l.scale)),
    );
    m.insert("opacity".into(), json!(1.0));
    m.insert("blend".into(), json!("additive"));
    m.insert("tab".into(), json!("rendering"));
    m.insert("visible".into(), json!(true));
    m.insert("volumeRendering".into(), json!("off"));
    m.insert("volumeRenderingGain".into(), json!(-7.8));
    m.insert("codeVisible".into(), json!(false));
    m.insert("volumeRenderingDepthSamples".into(), json!(128));
    let width = 3.0 * l.rms;
    let limits = (l.mean - width, l.mean + width);
    let mut sh = Shader::default();
    let lines = sh.invertible_invlerp("contrast", limits, window(limits, 0.2), false, None);
    sh.controls_code(&lines);
    sh.main_code(&["float outputValue;"], 1);
    let lines = sh.invertible_invlerp(
        "contrast_3D",
        l.contrast_3d,
        window(l.contrast_3d, 2.0),
        true,
        Some("3D"),
    );
    sh.controls_code(&lines);
    sh.main_code(&["if (VOLUME_RENDERING) {"], 1);
    sh.main_code(
        &[
            "outputValue = get_contrast_3D();",
            "emitIntensity(outputValue);",
        ],
        2,
    );
    sh.main_code(&["} else {"], 1);
    sh.main_code(&["outputValue = get_contrast();"], 2);
    sh.main_code(&["}"], 1);
    sh.main_code(&["emitGrayscale(outputValue);"], 1);
    sh.build(&mut m);
    let largest = l.size.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m.insert(
        "_position".into(),
        json!(l.size.map(|s| (s / 2.0).round_ties_even())),
    );
    // Python's max(largest / 400, 1) keeps the int 1 unless the ratio reaches it.
    let cross = largest / 400.0;
    m.insert(
        "_crossSectionScale".into(),
        if cross >= 1.0 { json!(cross) } else { json!(1) },
    );
    m.insert("_projectionScale".into(), json!(largest * 1.1));
    Value::Object(m)
}

/// A point-like annotation layer (`annotation` type).
pub struct PointLayer<'a> {
    /// Its URL (prefix joined with the precompute dir).
    pub url: &'a str,
    /// `"{id} {object} point"` or `"… orientedpoint"`.
    pub name: &'a str,
    /// `#rrggbb`.
    pub color: &'a str,
    /// The annotation's voxel size, m.
    pub scale: Scale,
    /// The tomogram's voxel size, m.
    pub output_scale: Scale,
    /// The file's `is_visualization_default` (null when absent), or false.
    pub visible: Value,
    /// Instance segmentations colour each point by its `color` property.
    pub instance: bool,
    /// Oriented points are drawn as their three axes.
    pub oriented: bool,
}

/// `generate_point_layer` / `generate_oriented_point_layer`.
pub fn point_layer(l: &PointLayer<'_>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!("annotation"));
    m.insert("name".into(), json!(l.name));
    m.insert(
        "source".into(),
        Value::Object(source("precomputed", l.url, l.scale, l.output_scale)),
    );
    m.insert("tab".into(), json!("rendering"));
    m.insert("annotationColor".into(), json!(l.color));
    m.insert("visible".into(), l.visible.clone());
    m.insert("codeVisible".into(), json!(false));
    let color = if l.instance {
        "prop_color()"
    } else {
        "defaultColor()"
    };
    let mut sh = Shader::default();
    let line = sh.slider("pointScale", 0.01, 2.0, 1.0);
    sh.controls_code(&[line]);
    let line = sh.slider("opacity", 0.0, 1.0, 1.0);
    sh.controls_code(&[line]);
    sh.main_code(&["if (opacity == 0.0) discard;"], 1);
    if l.oriented {
        let line = sh.slider("lineWidth", 0.01, 4.0, 1.0);
        sh.controls_code(&[line]);
        let marker = format!("setEndpointMarkerColor(vec4({color}, opacity));");
        sh.main_code(
            &[
                "setLineWidth(lineWidth);",
                "setLineColor(vec4(prop_line_color(), opacity));",
                "setEndpointMarkerSize(pointScale * prop_diameter(), pointScale * 0.5 * prop_diameter());",
                &marker,
                "setEndpointMarkerBorderWidth(0.1);",
                "setEndpointMarkerBorderColor(vec4(0.0, 0.0, 0.0, opacity));",
            ],
            1,
        );
        // The sliders in the order pointScale, lineWidth, opacity (a stable sort).
        let rank = |l: &str| {
            ["pointScale", "lineWidth", "opacity"]
                .iter()
                .position(|k| l.contains(k))
                .unwrap_or(3)
        };
        let mut lines: Vec<&str> = sh.pre_main.split('\n').collect();
        lines.sort_by_key(|l| rank(l));
        sh.pre_main = lines.join("\n");
    } else {
        let set = format!("setColor(vec4({color}, opacity));");
        sh.main_code(
            &[
                &set,
                "setPointMarkerSize(pointScale * prop_diameter());",
                "setPointMarkerBorderWidth(0.1);",
                "setPointMarkerBorderColor(vec4(0.0, 0.0, 0.0, opacity));",
            ],
            1,
        );
    }
    sh.build(&mut m);
    Value::Object(m)
}

/// The colours of a segmentation layer.
pub enum SegmentColors {
    /// One colour for every segment (`segmentDefaultColor`).
    Default(String),
    /// One colour per label (`segmentColors`).
    PerLabel(Vec<(u64, String)>),
}

/// A segmentation-type layer: masks, meshes and oriented-point meshes.
pub struct SegmentationLayer<'a> {
    /// Its URL (prefix joined with the precompute dir).
    pub url: &'a str,
    /// `"… segmentation"`, `"… instancesegmentation"`, `"… mesh"`, `"… orientedmesh"`.
    pub name: &'a str,
    /// Colours.
    pub colors: SegmentColors,
    /// The annotation's voxel size, m.
    pub scale: Scale,
    /// The tomogram's voxel size, m.
    pub output_scale: Scale,
    /// The file's `is_visualization_default`.
    pub visible: Value,
    /// Segments shown (`(1,)` unless an instance mask).
    pub segments: Vec<u64>,
    /// 2.0 for masks and meshes, 4.0 for oriented-point meshes.
    pub mesh_render_scale: f64,
}

/// `generate_segmentation_mask_layer` / `generate_mesh_layer` /
/// `generate_oriented_point_mesh_layer`.
pub fn segmentation_layer(l: &SegmentationLayer<'_>) -> Value {
    let mut src = source("precomputed", l.url, l.scale, l.output_scale);
    src.insert("subsources".into(), json!({"default": true, "mesh": true}));
    src.insert("enableDefaultSubsources".into(), json!(false));
    let mut segments = l.segments.clone();
    segments.sort_unstable();
    let mut m = Map::new();
    m.insert("type".into(), json!("segmentation"));
    m.insert("name".into(), json!(l.name));
    m.insert("source".into(), Value::Object(src));
    m.insert("tab".into(), json!("rendering"));
    m.insert("selectedAlpha".into(), json!(1));
    m.insert("hoverHighlight".into(), json!(false));
    m.insert("segments".into(), json!(segments));
    m.insert("visible".into(), l.visible.clone());
    m.insert("meshRenderScale".into(), json!(l.mesh_render_scale));
    m.insert("pick".into(), json!(false));
    match &l.colors {
        SegmentColors::Default(c) => {
            m.insert("segmentDefaultColor".into(), json!(c));
        }
        SegmentColors::PerLabel(cs) => {
            let per: Map<String, Value> =
                cs.iter().map(|(k, c)| (k.to_string(), json!(c))).collect();
            m.insert("segmentColors".into(), Value::Object(per));
        }
    }
    Value::Object(m)
}

/// `Rotation.from_euler("xyz", (45, 0, 0), degrees=True).as_quat()` (x, y, z, w) as scipy
/// prints it.
const PROJECTION_QUATERNION: [f64; 4] = [0.3826834323650898, 0.0, 0.0, 0.9238795325112867];

/// `combine_json_layers(layers, scale, voxel_size_scale)` with the generator's defaults:
/// the 4-panel layout, panels, 1.5 GB of GPU memory, and the view centred on the first image
/// layer, scaled by `voxel_size_scale`.
pub fn combine_layers(layers: Vec<Value>, scale: Scale, voxel_size_scale: f64) -> Value {
    let images: Vec<&Value> = layers.iter().filter(|l| l["type"] == "image").collect();
    let show_slices = !images.iter().any(|l| l["volumeRendering"] == "on");
    let view = images.first().and_then(|l| {
        let pos = l.get("_position")?.as_array()?;
        Some((
            pos.iter()
                .map(|p| p.as_f64().unwrap_or(0.0) * voxel_size_scale)
                .collect::<Vec<f64>>(),
            voxel_size_scale * l["_crossSectionScale"].as_f64().unwrap_or(1.0),
            voxel_size_scale * l["_projectionScale"].as_f64().unwrap_or(0.0),
        ))
    });
    let first_name = layers.first().map_or(Value::Null, |l| l["name"].clone());
    let mut m = Map::new();
    m.insert(
        "dimensions".into(),
        json!({"x": [scale[0], "m"], "y": [scale[1], "m"], "z": [scale[2], "m"]}),
    );
    m.insert("crossSectionScale".into(), json!(1.8));
    m.insert("projectionOrientation".into(), json!(PROJECTION_QUATERNION));
    m.insert("layers".into(), Value::Array(layers));
    m.insert(
        "selectedLayer".into(),
        json!({"visible": true, "layer": first_name, "side": "left"}),
    );
    m.insert("crossSectionBackgroundColor".into(), json!("#000000"));
    m.insert("hideCrossSectionBackground3D".into(), json!(true));
    m.insert("layout".into(), json!("4panel"));
    m.insert("showSlices".into(), json!(show_slices));
    m.insert("showAxisLines".into(), json!(true));
    m.insert("layerListPanel".into(), json!({"row": 1, "visible": true}));
    m.insert("helpPanel".into(), json!({"side": "right", "row": 0}));
    m.insert("settingsPanel".into(), json!({"side": "right", "row": 1}));
    m.insert("selection".into(), json!({"row": 2, "visible": false}));
    m.insert(
        "toolPalettes".into(),
        json!({"Position": {
            "side": "bottom",
            "row": 1,
            "size": 100,
            "visible": true,
            "query": "type:dimension",
            "verticalStacking": false,
        }}),
    );
    m.insert("gpuMemoryLimit".into(), json!(1_500_000_000u64));
    if let Some((position, cross, projection)) = view {
        m.insert("position".into(), json!(position));
        m.insert("crossSectionScale".into(), json!(cross));
        m.insert("projectionScale".into(), json!(projection));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pycompat::json::render_json;

    #[test]
    fn urls_join_like_urljoin() {
        let p = "https://files.cryoetdataportal.cziscience.com";
        assert_eq!(
            join_url(p, "/10000/TS_1/x.zarr/"),
            "https://files.cryoetdataportal.cziscience.com/10000/TS_1/x.zarr"
        );
        assert_eq!(join_url("http://h:8/a/b", "c"), "http://h:8/a/c");
        assert_eq!(join_url("http://h:8/a/b/", "c"), "http://h:8/a/b/c");
        assert_eq!(join_url("", "/c/"), "c");
    }

    #[test]
    fn point_shader_is_the_generators() {
        let l = point_layer(&PointLayer {
            url: "u",
            name: "100 ribosome point",
            color: "#ff0000",
            scale: [1e-9; 3],
            output_scale: [1e-9; 3],
            visible: json!(true),
            instance: false,
            oriented: false,
        });
        assert_eq!(
            l["shader"],
            "#uicontrol float pointScale slider(min=0.01, max=2.0, step=0.01)\n\
             #uicontrol float opacity slider(min=0.0, max=1.0, step=0.01)\n\n\
             void main() {\n  if (opacity == 0.0) discard;\n  \
             setColor(vec4(defaultColor(), opacity));\n  \
             setPointMarkerSize(pointScale * prop_diameter());\n  \
             setPointMarkerBorderWidth(0.1);\n  \
             setPointMarkerBorderColor(vec4(0.0, 0.0, 0.0, opacity));\n}"
        );
        let o = point_layer(&PointLayer {
            oriented: true,
            instance: true,
            ..PointLayer {
                url: "u",
                name: "n",
                color: "#ff0000",
                scale: [1e-9; 3],
                output_scale: [1e-9; 3],
                visible: json!(false),
                instance: false,
                oriented: false,
            }
        });
        let shader = o["shader"].as_str().unwrap();
        assert!(shader.starts_with(
            "#uicontrol float pointScale slider(min=0.01, max=2.0, step=0.01)\n\
             #uicontrol float lineWidth slider(min=0.01, max=4.0, step=0.01)\n\
             #uicontrol float opacity slider(min=0.0, max=1.0, step=0.01)\n\nvoid main() {"
        ));
        assert!(shader.contains("setEndpointMarkerColor(vec4(prop_color(), opacity));"));
        let keys: Vec<&String> = o["shaderControls"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["pointScale", "opacity", "lineWidth"]);
    }

    #[test]
    fn image_shader_has_both_contrasts() {
        let l = image_layer(&ImageLayer {
            url: "u",
            name: "TS_01",
            scale: [1.348e-9; 3],
            size: [32.0, 32.0, 16.0],
            mean: 0.5,
            rms: 0.25,
            contrast_3d: (0.0, 1.0),
        });
        let shader = l["shader"].as_str().unwrap();
        assert!(shader.starts_with(
            "#uicontrol invlerp contrast\n#uicontrol bool invert_contrast checkbox\n\
             #uicontrol invlerp contrast_3D(clamp=false)\n\
             #uicontrol bool invert_contrast_3D checkbox\n\
             #uicontrol bool hide_values_outside_limits_3D checkbox\n\nfloat get_contrast() {"
        ));
        assert!(shader.ends_with(
            "void main() {\n  float outputValue;\n  if (VOLUME_RENDERING) {\n    \
             outputValue = get_contrast_3D();\n    emitIntensity(outputValue);\n  } else {\n    \
             outputValue = get_contrast();\n  }\n  emitGrayscale(outputValue);\n}"
        ));
        assert_eq!(
            l["shaderControls"]["contrast"],
            json!({"range": [-0.25, 1.25], "window": [-0.55, 1.55]})
        );
        assert_eq!(
            l["shaderControls"]["contrast_3D"],
            json!({"range": [0.0, 1.0], "window": [-2.0, 3.0]})
        );
        assert_eq!(l["_position"], json!([16.0, 16.0, 8.0]));
        assert_eq!(l["_crossSectionScale"], json!(1));
        let state = combine_layers(vec![l], [1.348e-9; 3], 1.0);
        let text = String::from_utf8(render_json(&state)).unwrap();
        assert!(text.contains("\"crossSectionScale\": 1.0,"), "{text}");
        assert!(text.contains("\"projectionOrientation\": [\n        0.3826834323650898,"));
    }
}
