//! The chart's SVG drawn to PNG by resvg, for email and Slack, which show no
//! SVG. The font is bundled (DejaVu Sans, the SVG's first choice), so the
//! picture is the same on every machine, whatever fonts it has installed.

use std::sync::{Arc, LazyLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{self, fontdb};

use crate::{ChartError, ChartSpec, Table, render_svg};

/// Pixels per SVG unit: sharp on high-density screens, where most mail is read.
const SCALE: f32 = 2.0;

static FONTS: LazyLock<Arc<fontdb::Database>> = LazyLock::new(|| {
    let mut fonts = fontdb::Database::new();
    fonts.load_font_data(dejavu::sans::regular().to_vec());
    fonts.load_font_data(dejavu::sans::bold().to_vec());
    fonts.set_sans_serif_family("DejaVu Sans");
    Arc::new(fonts)
});

/// The chart as a PNG, from the same SVG the page shows.
pub fn render_png(spec: &ChartSpec, table: &Table) -> Result<Vec<u8>, ChartError> {
    svg_to_png(&render_svg(spec, table)?, &spec.title)
}

/// `svg` as a PNG; an SVG that draws nothing (one colour all over) is an
/// error, so a mail never carries a blank image.
pub fn svg_to_png(svg: &str, title: &str) -> Result<Vec<u8>, ChartError> {
    let failed = |reason: String| ChartError::Raster {
        title: title.to_owned(),
        reason,
    };
    let options = usvg::Options {
        fontdb: Arc::clone(&FONTS),
        font_family: "DejaVu Sans".to_owned(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| failed(format!("the SVG does not parse: {e}")))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(SCALE)
        .ok_or_else(|| failed("the SVG has no size".into()))?;
    let mut pixmap =
        Pixmap::new(size.width(), size.height()).ok_or_else(|| failed(format!("no {size:?} image can be made")))?;
    resvg::render(&tree, Transform::from_scale(SCALE, SCALE), &mut pixmap.as_mut());
    let pixels = pixmap.pixels();
    if pixels.iter().all(|p| *p == pixels[0]) {
        return Err(failed("it draws nothing: every pixel is the same colour".into()));
    }
    pixmap
        .encode_png()
        .map_err(|e| failed(format!("PNG encoding failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svg_of_one_colour_is_refused_as_blank() {
        let blank = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">\
                     <rect width=\"10\" height=\"10\" fill=\"#ffffff\"/></svg>";
        let error = svg_to_png(blank, "Empty").expect_err("blank");
        assert_eq!(
            error.to_string(),
            "chart \"Empty\" cannot be drawn as an image: it draws nothing: every pixel is the same colour"
        );
        assert!(
            svg_to_png("<svg", "Broken")
                .expect_err("broken")
                .to_string()
                .contains("the SVG does not parse")
        );
    }
}
